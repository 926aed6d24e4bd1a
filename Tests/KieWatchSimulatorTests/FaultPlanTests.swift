import KieWatchCore
import KieWatchHTTP
import Testing

@testable import KieWatchSimulator

/// Each task-level fault at its configured rate over 1,000 tasks, and no other fault.
@Suite struct FaultPlanTests {
    static let taskCount = 1000

    /// 1,000 market tasks with callbacks at speed 1000, run to the end.
    static func run(_ configure: @escaping (inout SimulatorConfiguration) -> Void) async -> Harness {
        let h = Harness {
            $0.speed = 1000
            $0.rateLimit = nil
            $0.initialCredits = 10_000_000
            configure(&$0)
        }
        for _ in 0..<taskCount { await h.createMarket() }
        // 20 simulated minutes of late delay / 1000 = 1.2 s; an hour of virtual time covers everything.
        for _ in 0..<60 { await h.advance(millis: 60_000) }
        return h
    }

    static func deliveriesPerTask(_ h: Harness) -> [String: Int] {
        h.simulator.deliveries().reduce(into: [:]) { $0[$1.taskId, default: 0] += 1 }
    }

    @Test func noFaultsByDefault() async {
        let h = await Self.run { _ in }
        let stats = h.simulator.snapshot()
        #expect(stats.tasksSucceeded == Self.taskCount)
        #expect(stats.callbacksSent == Self.taskCount && stats.callbacksDelivered == Self.taskCount)
        #expect(Self.deliveriesPerTask(h).values.allSatisfy { $0 == 1 })
        expectNoOtherFaults(stats, except: [])
    }

    @Test func failureRate() async {
        let h = await Self.run { $0.failureRate = 0.1 }
        let stats = h.simulator.snapshot()
        #expect(abs(stats.tasksFailed - 100) <= 40)
        #expect(stats.tasksFailed + stats.tasksSucceeded == Self.taskCount)
        let failedCallbacks = h.simulator.deliveries().filter { $0.json?["code"] == 501 }.count
        #expect(failedCallbacks == stats.tasksFailed)
        #expect(stats.callbacksSent == Self.taskCount)
        expectNoOtherFaults(stats, except: ["tasksFailed"])
    }

    @Test func droppedCallbacks() async {
        let h = await Self.run { $0.dropCallbackRate = 0.1 }
        let stats = h.simulator.snapshot()
        #expect(abs(stats.callbacksDropped - 100) <= 40)
        #expect(Self.deliveriesPerTask(h).count == Self.taskCount - stats.callbacksDropped)
        #expect(stats.callbacksSent == Self.taskCount - stats.callbacksDropped)
        #expect(stats.tasksSucceeded == Self.taskCount)
        expectNoOtherFaults(stats, except: ["callbacksDropped"])
    }

    @Test func duplicatedCallbacks() async {
        let h = await Self.run { $0.duplicateCallbackRate = 0.05 }
        let stats = h.simulator.snapshot()
        let perTask = Self.deliveriesPerTask(h)
        let duplicatedTasks = perTask.values.filter { $0 > 1 }.count
        #expect(abs(duplicatedTasks - 50) <= 25)
        #expect(perTask.count == Self.taskCount)
        #expect(perTask.values.allSatisfy { (1...3).contains($0) })
        #expect(perTask.values.contains(2) && perTask.values.contains(3))
        #expect(stats.callbacksDuplicated == perTask.values.reduce(0, +) - Self.taskCount)
        // Copies are identical bodies.
        let byTask = Dictionary(grouping: h.simulator.deliveries(), by: \.taskId)
        #expect(byTask.values.allSatisfy { Set($0.map(\.body)).count == 1 })
        expectNoOtherFaults(stats, except: ["callbacksDuplicated"])
    }

    @Test func lateCallbacks() async throws {
        let h = await Self.run { $0.lateCallbackRate = 0.05 }
        let stats = h.simulator.snapshot()
        #expect(abs(stats.callbacksLate - 50) <= 25)
        var late = 0
        for delivery in h.simulator.deliveries() {
            let task = try #require(h.simulator.task(id: delivery.taskId))
            let delay = delivery.time - task.completeAt
            if task.plan.lateMillis > 0 {
                late += 1
                // 5-20 minutes / speed 1000, give or take the 1-minute tick step.
                #expect(delay >= 300 && delay <= 60_000 + 1_200)
            }
        }
        #expect(late == stats.callbacksLate)
        #expect(stats.callbacksSent == Self.taskCount)
        expectNoOtherFaults(stats, except: ["callbacksLate"])
    }

    @Test func earlyCallbacks() async {
        let h = await Self.run { $0.earlyCallbackRate = 0.02 }
        let stats = h.simulator.snapshot()
        #expect(abs(stats.callbacksEarly - 20) <= 15)
        let early = h.simulator.deliveries().filter { delivery in
            h.simulator.task(id: delivery.taskId).map { delivery.time == $0.createTime } ?? false
        }
        #expect(early.count == stats.callbacksEarly)
        #expect(stats.callbacksSent == Self.taskCount)
        expectNoOtherFaults(stats, except: ["callbacksEarly"])
    }

    @Test func statusFaultsEndTasksWithCode501Or408OnTheirStatusCall() async throws {
        let h = await Self.run { $0.statusFaultRate = 0.1 }
        let stats = h.simulator.snapshot()
        #expect(abs(stats.tasksFailed - 100) <= 40)
        let failed = h.simulator.deliveries().compactMap { delivery -> String? in
            delivery.json?["code"] == 501 ? delivery.taskId : nil
        }
        #expect(failed.count == stats.tasksFailed)
        var codes: [Int64: Int] = [:]
        for id in failed {
            let answer = try #require(await h.recordInfo(id))
            #expect(answer["data"] == .null)
            let code = try #require(answer["code"]?.intValue)
            codes[code, default: 0] += 1
            let failCode = h.simulator.deliveries().first { $0.taskId == id }?.json?["data"]?["failCode"]
            #expect(failCode == .string(String(code)))  // the callback names the same failure
        }
        #expect(Set(codes.keys) == [501, 408])
        #expect(h.simulator.snapshot().statusFaults == failed.count)
        expectNoOtherFaults(h.simulator.snapshot(), except: ["tasksFailed", "statusFaults"])
    }

    @Test func statusFaultsDrawFromTheirOwnStreamSoOtherChoicesStay() async {
        let plain = await Self.run { $0.failureRate = 0.1 }
        let withFaults = await Self.run { $0.failureRate = 0.1; $0.statusFaultRate = 0.2 }
        let ids = Set(plain.simulator.deliveries().map(\.taskId))
        #expect(ids == Set(withFaults.simulator.deliveries().map(\.taskId)))  // same ids
        for id in ids where plain.simulator.task(id: id)?.outcome == .fail {
            #expect(withFaults.simulator.task(id: id)?.outcome == .fail)  // a failing task still fails
            #expect(withFaults.simulator.task(id: id)?.completeAt == plain.simulator.task(id: id)?.completeAt)
        }
        #expect(withFaults.simulator.snapshot().tasksFailed > plain.simulator.snapshot().tasksFailed)
    }

    @Test func theSameTasksFailWhateverTheOtherRates() async {
        func failed(_ configure: @escaping (inout SimulatorConfiguration) -> Void) async -> [String] {
            let h = Harness {
                $0.speed = 1000
                $0.rateLimit = nil
                $0.failureRate = 0.2
                configure(&$0)
            }
            var ids: [String] = []
            for _ in 0..<100 { if let id = await h.createMarket() { ids.append(id) } }
            return ids.filter { h.simulator.task(id: $0)?.plan.failure != nil }
        }
        let alone = await failed { _ in }
        let withOthers = await failed {
            $0.dropCallbackRate = 0.5
            $0.duplicateCallbackRate = 0.5
        }
        #expect(!alone.isEmpty)
        #expect(alone == withOthers)
    }

    @Test func speedDividesGenerationTimes() async throws {
        let slow = Harness { $0.speed = 1 }
        let fast = Harness { $0.speed = 1000 }
        let slowId = try #require(await slow.createMarket())
        let fastId = try #require(await fast.createMarket())
        let a = try #require(slow.simulator.task(id: slowId))
        let b = try #require(fast.simulator.task(id: fastId))
        #expect(a.plan.generatingMillis >= 15_000)
        #expect(abs(Double(a.plan.generatingMillis) / 1000 - Double(b.plan.generatingMillis)) <= 1)
    }
}
