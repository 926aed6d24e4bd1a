import KieWatchCore
import KieWatchHTTP
import Testing

@testable import KieWatchSimulator

/// Routing, the key check, account endpoints and the request-level faults.
@Suite struct KieSimulatorTests {
    @Test func wrongOrMissingKeyIsHTTP200WithBodyCode401() async throws {
        let h = Harness { $0.acceptedKeys = ["good"] }
        for key in [nil, "bad", ""] as [String?] {
            let answer = await h.request("GET", "/api/v1/chat/credit", key: key)
            #expect(answer.status == 200)
            #expect(answer.json?["code"] == 401)
            #expect(answer.json?["msg"] == "You do not have access permissions")
            #expect(shapeMismatches(answer.json!, try KieFixtures.error401).isEmpty)
        }
        #expect(await h.request("GET", "/api/v1/chat/credit", key: "good").code == 200)
        #expect(h.simulator.snapshot().unauthorized == 3)
    }

    @Test func emptyAcceptedKeysAcceptsAnyNonEmptyKey() async {
        let h = Harness()
        #expect(await h.request("GET", "/api/v1/chat/credit", key: "anything").code == 200)
        #expect(await h.request("GET", "/api/v1/chat/credit", key: nil).code == 401)
        let basic = await h.simulator.handle(
            HTTPRequest(method: "GET", target: "/api/v1/chat/credit", headers: ["Authorization": "Basic abc"]))
        #expect(basic.code == 401)
    }

    @Test func unknownPathsAndMethodsAre404WithAKieEnvelope() async {
        let h = Harness()
        for (method, target) in [("GET", "/api/v1/nope"), ("GET", "/api/v1/jobs/createTask"), ("POST", "/api/v1/chat/credit"), ("GET", "/")] {
            let answer = await h.request(method, target)
            #expect(answer.status == 404)
            #expect(answer.json?["code"] == 404)
        }
    }

    @Test func creditAnswersTheBalanceInTheFixtureShape() async throws {
        let h = Harness { $0.initialCredits = 1234 }
        let answer = try #require(await h.request("GET", "/api/v1/chat/credit").json)
        #expect(shapeMismatches(answer, try KieFixtures.credit).isEmpty)
        #expect(answer == ["code": 200, "msg": "success", "data": 1234])
    }

    @Test func uploadsAnswerWithFileURLs() async throws {
        let h = Harness()
        let base64 = try #require(
            await h.request(
                "POST", "/api/file-base64-upload",
                body: #"{"base64Data":"data:image/png;base64,AAAA","uploadPath":"images","fileName":"a.png"}"#
            ).json)
        #expect(base64["code"] == 200)
        #expect(base64["data"]?["fileName"] == "a.png")
        #expect(base64["data"]?["fileSize"] == 3)
        #expect(base64["data"]?["fileUrl"]?.stringValue?.hasPrefix("https://") == true)
        #expect(base64["data"]?["downloadUrl"]?.stringValue != nil)
        for path in ["/api/file-url-upload", "/api/file-stream-upload"] {
            let answer = await h.request("POST", path, body: "--boundary\r\nnot json\r\n")
            #expect(answer.code == 200)
            #expect(answer.json?["data"]?["fileUrl"]?.stringValue != nil)
        }
    }

    @Test func maintenanceWindowAnswers455ForItsDurationOnly() async throws {
        let h = Harness { $0.maintenanceWindows = [.init(start: .seconds(120), duration: .seconds(30))] }
        #expect(await h.request("GET", "/api/v1/chat/credit").code == 200)
        h.clock.advance(byMillis: 120_000)
        let during = try #require(await h.request("GET", "/api/v1/chat/credit").json)
        #expect(during["code"] == 455)
        #expect(shapeMismatches(during, try KieFixtures.error455).isEmpty)
        // Everything, even an unknown path or a create, answers 455.
        #expect(await h.request("GET", "/nope").code == 455)
        #expect(await h.createMarket() == nil)
        h.clock.advance(byMillis: 29_999)
        #expect(await h.request("GET", "/api/v1/chat/credit").code == 455)
        h.clock.advance(byMillis: 1)
        #expect(await h.request("GET", "/api/v1/chat/credit").code == 200)
        #expect(h.simulator.snapshot().maintenanceAnswers == 4)
        expectNoOtherFaults(h.simulator.snapshot(), except: ["maintenanceAnswers"])
    }

    @Test func rateLimitAnswers429OnThe21stCreateIn10sAndRecoversAfterTheWindow() async throws {
        let h = Harness()
        for _ in 0..<20 {
            #expect(await h.createMarket() != nil)
            h.clock.advance(byMillis: 100)
        }
        let refused = await h.request(
            "POST", "/api/v1/jobs/createTask", body: #"{"model":"kling-2.6/text-to-video","input":{"prompt":"x"}}"#)
        #expect(refused.status == 200)
        #expect(refused.json?["code"] == 429)
        #expect(shapeMismatches(refused.json!, try KieFixtures.error429).isEmpty)
        // Another key has its own budget; status calls are not limited.
        #expect(await h.createMarket(key: "other-key") != nil)
        #expect(await h.request("GET", "/api/v1/chat/credit").code == 200)
        // The first create was at t=0: at t=10 s it has left the window.
        h.clock.set(h.clock.now() - 2000 + 10_000)
        #expect(await h.createMarket() != nil)
        #expect(await h.createMarket() == nil)
        #expect(h.simulator.snapshot().rateLimited == 2)
        #expect(h.simulator.snapshot().tasksCreatedTotal == 22)
    }

    @Test func rateLimitOffAcceptsABurst() async {
        let h = Harness { $0.rateLimit = nil }
        for _ in 0..<50 { #expect(await h.createMarket() != nil) }
    }

    @Test func serverErrorsComeAtTheirRateInTheDocumentedMixAndNothingElse() async {
        let h = Harness { $0.serverErrorRate = 0.1 }
        var statuses: [String: Int] = [:]
        for _ in 0..<1000 {
            let answer = await h.request("GET", "/api/v1/chat/credit")
            let label = answer.status == 200 ? "200/\(answer.code.map(String.init) ?? "-")" : "\(answer.status)"
            statuses[label, default: 0] += 1
        }
        let errors = 1000 - statuses["200/200", default: 0]
        #expect(abs(errors - 100) <= 40)
        #expect(Set(statuses.keys) == ["200/200", "200/500", "500", "502", "503"])
        #expect(statuses["200/500", default: 0] > statuses["502", default: 0])
        #expect(h.simulator.snapshot().serverErrors == errors)
        expectNoOtherFaults(h.simulator.snapshot(), except: ["serverErrors"])
    }

    @Test func gatewayErrorsAreHTMLNotJSON() async {
        let h = Harness { $0.serverErrorRate = 1 }
        var sawHTML = false
        for _ in 0..<50 {
            let answer = await h.request("GET", "/api/v1/chat/credit")
            if answer.status == 502 || answer.status == 503 {
                sawHTML = true
                #expect(answer.headers["Content-Type"] == "text/html")
                #expect(answer.json == nil)
            }
        }
        #expect(sawHTML)
    }

    @Test func connectionResetsAreStatusZeroAtTheirRate() async {
        let h = Harness { $0.connectionResetRate = 0.1 }
        var resets = 0
        for _ in 0..<1000 {
            let answer = await h.request("GET", "/api/v1/chat/credit")
            if answer.status == 0 {
                resets += 1
                #expect(answer.body.isEmpty)
            } else {
                #expect(answer.code == 200)
            }
        }
        #expect(abs(resets - 100) <= 40)
        #expect(h.simulator.snapshot().connectionResets == resets)
        expectNoOtherFaults(h.simulator.snapshot(), except: ["connectionResets"])
    }

    @Test func slowAnswersComeAtTheirRateAndStillAnswer() async {
        // A zero delay: the count is what is tested, not the sleep.
        let h = Harness {
            $0.slowAnswerRate = 0.05
            $0.slowAnswerDelay = .zero
        }
        for _ in 0..<1000 { #expect(await h.request("GET", "/api/v1/chat/credit").code == 200) }
        #expect(abs(h.simulator.snapshot().slowAnswers - 50) <= 25)
        expectNoOtherFaults(h.simulator.snapshot(), except: ["slowAnswers"])
    }
}
