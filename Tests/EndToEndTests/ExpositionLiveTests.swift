import Foundation
import KieWatchCore
import Testing

/// `GET /metrics` of a running agent that has proxied real traffic to the simulator: the
/// Prometheus text passes `promtool check metrics`, every family of the README's "Metrics" is there and
/// moves as the traffic says, and the OpenMetrics answer is well-formed with exemplars that
/// lead to a task the console knows.
@Suite("Exposition on a live agent")
struct ExpositionLiveTests {
    /// The README's metric contract, as named in Prometheus text (counters with `_total`).
    static let contract: [(name: String, type: String)] = [
        ("kiewatch_api_requests_total", "counter"), ("kiewatch_tasks_created_total", "counter"),
        ("kiewatch_tasks_finished_total", "counter"), ("kiewatch_webhooks_received_total", "counter"),
        ("kiewatch_webhooks_missed_total", "counter"), ("kiewatch_recovery_polls_total", "counter"),
        ("kiewatch_relay_attempts_total", "counter"), ("kiewatch_credits_consumed_total", "counter"),
        ("kiewatch_store_errors_total", "counter"),
        ("kiewatch_api_request_duration_seconds", "histogram"), ("kiewatch_task_duration_seconds", "histogram"),
        ("kiewatch_webhook_delay_seconds", "histogram"), ("kiewatch_relay_duration_seconds", "histogram"),
        ("kiewatch_tasks_inflight", "gauge"), ("kiewatch_tasks_stale", "gauge"), ("kiewatch_relay_queue_depth", "gauge"),
        ("kiewatch_relay_oldest_pending_seconds", "gauge"), ("kiewatch_credits_remaining", "gauge"),
        ("kiewatch_create_rate_limit_utilization", "gauge"),
        ("kiewatch_last_webhook_received_timestamp_seconds", "gauge"), ("kiewatch_store_bytes", "gauge"),
        ("kiewatch_build_info", "gauge"), ("kiewatch_relay_paused", "gauge"), ("kiewatch_relay_circuit_open", "gauge"),
        // The standard process collector.
        ("process_cpu_seconds_total", "counter"), ("process_resident_memory_bytes", "gauge"),
        ("process_virtual_memory_bytes", "gauge"), ("process_open_fds", "gauge"), ("process_max_fds", "gauge"),
        ("process_start_time_seconds", "gauge"),
    ]

    /// The Accept header Prometheus 2.42 sends when scraping.
    static let prometheusAccept =
        "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"

    /// A model id with characters that would need escaping (quote, backslash, newline, braces):
    /// the agent must sanitize it before it becomes a label value.
    static let hostileModel = "evil\"mo\\del\nx{}"

    /// What `Traffic.drive` sent.
    struct Traffic {
        var tasks: [(id: String, model: String)] = []
        var createStarted = Date()

        /// Three tasks each of a Kling, a Sora and a Veo model plus one with a hostile model id,
        /// a create with a wrong key (401 from Kie), a webhook with a wrong secret (unauthorized)
        /// and a garbage one (malformed). Status queries come after the tasks settle (see
        /// `settledScrape`): an app polling a task whose callback is late or dropped teaches the
        /// agent its result, so the callback (or the recovery) that would relay it never counts.
        static func drive(_ stack: LiveStack) throws -> Traffic {
            var traffic = Traffic()
            for model in ["kling-2.6/text-to-video", "sora-2-text-to-video", "veo3_fast"] {
                for _ in 0..<3 { traffic.tasks.append((try stack.createTask(model: model), model)) }
            }
            let sanitized = try #require(ModelCatalogue.sanitize(hostileModel))
            traffic.tasks.append((try stack.createTask(model: hostileModel), sanitized))
            #expect(try stack.createTaskRejected(model: "kling-2.6/text-to-video", key: "wrong") == 401)
            #expect(try stack.postWebhook(secret: "wrong", body: #"{"code":200,"data":{"taskId":"x","state":"success"}}"#).status == 401)
            #expect(try stack.postWebhook(secret: stack.options.callbackSecret, body: "garbage").status == 400)
            return traffic
        }

        var ids: Set<String> { Set(tasks.map(\.id)) }
    }

    /// Scrapes until the traffic has settled: every task terminal and counted, every result
    /// relayed to the app, the gauges back to idle and the missed count equal to the store's.
    /// Then queries the status of a market and a Veo task through the proxy (as the app would)
    /// and returns a scrape that counts those calls.
    static func settledScrape(_ stack: LiveStack, traffic: Traffic) async throws -> LiveExposition {
        let settled = try await settle(stack, traffic: traffic)
        var endpoints: [String] = []
        if let market = traffic.tasks.first(where: { !$0.model.hasPrefix("veo") }) {
            #expect(try stack.recordInfo(taskID: market.id).status == 200)
            endpoints.append("record_info")
        }
        if let veo = traffic.tasks.first(where: { $0.model.hasPrefix("veo") }) {
            #expect(try stack.recordInfo(taskID: veo.id, veo: true).status == 200)
            endpoints.append("veo_record_info")
        }
        let calls = { (metrics: LiveExposition, endpoint: String) in metrics.sum("kiewatch_api_requests_total", ["endpoint": endpoint]) }
        return try await LiveWait.until("the status queries to be counted", timeout: .seconds(10)) { note in
            let metrics = try LiveExposition(try stack.scrape().text, openMetrics: false)
            note = endpoints.map { "\($0) \(calls(metrics, $0))" }.joined(separator: ", ")
            return endpoints.allSatisfy { calls(metrics, $0) > calls(settled, $0) } ? metrics : nil
        }
    }

    private static func settle(_ stack: LiveStack, traffic: Traffic) async throws -> LiveExposition {
        let total = Double(traffic.tasks.count)
        return try await LiveWait.until("the agent's metrics to settle", timeout: .seconds(40), interval: .milliseconds(300)) {
            note in
            let metrics = try LiveExposition(try stack.scrape().text, openMetrics: false)
            let missedInStore = try stack.sqlNumber("SELECT count(*) FROM tasks WHERE missed = 1")
            let observed: [(String, Double, Double)] = [
                ("finished", metrics.sum("kiewatch_tasks_finished_total"), total),
                ("relayed to the app", Double(stack.receiver.count), total),
                ("relay delivered", metrics.sum("kiewatch_relay_attempts_total", ["result": "delivered"]), total),
                ("inflight", metrics.sum("kiewatch_tasks_inflight"), 0),
                ("stale", metrics.sum("kiewatch_tasks_stale"), 0),
                ("relay queue", metrics.sum("kiewatch_relay_queue_depth"), 0),
                ("missed", metrics.sum("kiewatch_webhooks_missed_total"), missedInStore),
            ]
            note = observed.map { "\($0.0) \($0.1) (want \($0.2))" }.joined(separator: ", ")
            return observed.allSatisfy { $0.1 == $0.2 } ? metrics : nil
        }
    }

    @Test(
        "Prometheus text of a live agent: promtool-clean, every family, values that match the traffic",
        .requiresPromtool, .timeLimit(.minutes(2)))
    func prometheusText() async throws {
        let promtool = try #require(ExternalTools.promtool)
        let stack = try await LiveStack.start(.init(simulatorArguments: ["--drop-callbacks", "0.3", "--rate-limit", "off"]))
        defer { stack.stop() }
        let traffic = try Traffic.drive(stack)

        // The rate-limit gauge is refreshed every 2 s and looks 10 s back: it must show the creates.
        _ = try await LiveWait.until("kiewatch_create_rate_limit_utilization > 0", timeout: .seconds(8)) { note in
            let value = try LiveExposition(try stack.scrape().text, openMetrics: false).sum("kiewatch_create_rate_limit_utilization")
            note = "\(value)"
            return value > 0 ? value : nil
        }

        let metrics = try await Self.settledScrape(stack, traffic: traffic)
        let response = try stack.scrape()
        #expect(response.headers["content-type"]?.hasPrefix("text/plain; version=0.0.4") == true, "\(response.headers)")

        // promtool: no format errors, no lint findings.
        let file = stack.directory.file("metrics.txt")
        try response.body.write(to: file)
        let check = try await ExternalTools.run(promtool, ["check", "metrics"], input: file)
        #expect(check.status == 0 && check.output.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty,
                "\(check.commandLine) exited \(check.status):\n\(check.output)")

        Self.expectContract(metrics)
        let names = metrics.families.map(\.name)
        #expect(names == names.sorted(), "families are not in sorted order: \(names)")
        Self.expectHistogramsConsistent(metrics)

        // Counters: what the traffic did.
        let market = traffic.tasks.filter { !$0.model.hasPrefix("veo") }.count
        let veo = traffic.tasks.count - market
        #expect(metrics.sum("kiewatch_tasks_created_total") == Double(traffic.tasks.count))
        for model in Set(traffic.tasks.map(\.model)) {
            let expected = Double(traffic.tasks.filter { $0.model == model }.count)
            #expect(metrics.sum("kiewatch_tasks_created_total", ["model": model]) == expected, "model \(model)")
        }
        #expect(metrics.sum("kiewatch_api_requests_total", ["endpoint": "create_task", "code": "200"]) == Double(market))
        #expect(metrics.sum("kiewatch_api_requests_total", ["endpoint": "veo_generate", "code": "200"]) == Double(veo))
        #expect(metrics.sum("kiewatch_api_requests_total", ["endpoint": "create_task", "code": "401"]) == 1)
        #expect(metrics.sum("kiewatch_api_requests_total", ["endpoint": "record_info"]) >= 1)
        #expect(metrics.sum("kiewatch_api_requests_total", ["endpoint": "veo_record_info"]) >= 1)
        #expect(metrics.sum("kiewatch_api_requests_total", ["endpoint": "credit", "code": "200"]) >= 1, "the start-up credit check")
        #expect(metrics.sum("kiewatch_api_requests_total") == metrics.sum("kiewatch_api_request_duration_seconds_count"),
                "every counted call has its latency observed")

        let missed = try stack.sqlNumber("SELECT count(*) FROM tasks WHERE missed = 1")
        let accepted = try stack.sqlNumber("SELECT count(*) FROM webhooks WHERE result = 'accepted'")
        #expect(metrics.sum("kiewatch_webhooks_missed_total") == missed)
        #expect(metrics.sum("kiewatch_webhooks_received_total", ["result": "accepted"]) == accepted)
        #expect(accepted + missed == Double(traffic.tasks.count), "each task learned once, by callback or by recovery")
        #expect(metrics.sum("kiewatch_webhooks_received_total", ["result": "unauthorized"]) == 1)
        #expect(metrics.sum("kiewatch_webhooks_received_total", ["result": "malformed"]) == 1)
        #expect(metrics.sum("kiewatch_recovery_polls_total", ["result": "recovered"]) == missed)
        #expect(metrics.sum("kiewatch_tasks_finished_total") == Double(traffic.tasks.count))
        #expect(metrics.sum("kiewatch_relay_attempts_total", ["result": "delivered"]) == Double(stack.receiver.count))
        #expect(metrics.sum("kiewatch_relay_attempts_total") == metrics.sum("kiewatch_relay_duration_seconds_count"))
        let consumed = try stack.sqlNumber("SELECT coalesce(sum(credits_consumed), 0) FROM tasks")
        #expect(consumed > 0)
        #expect(metrics.sum("kiewatch_credits_consumed_total") == consumed)
        #expect(metrics.sum("kiewatch_store_errors_total") == 0)

        // Histograms: every finished task timed; callbacks with a completion time delayed.
        #expect(metrics.sum("kiewatch_task_duration_seconds_count") == Double(traffic.tasks.count))
        for model in ["kling-2.6/text-to-video", "sora-2-text-to-video"] {
            #expect(metrics.sum("kiewatch_webhook_delay_seconds_count", ["model": model]) >= 1, "\(model): no webhook delay")
        }
        #expect(metrics.sum("kiewatch_webhook_delay_seconds_count") <= accepted)

        // Gauges.
        let now = Date().timeIntervalSince1970
        let remaining = metrics.sum("kiewatch_credits_remaining")
        #expect(remaining > 0 && remaining < 100_000, "credits_remaining \(remaining): the simulator starts at 100000")
        let lastWebhook = metrics.sum("kiewatch_last_webhook_received_timestamp_seconds")
        #expect(lastWebhook >= stack.startedAt - 1 && lastWebhook <= now + 1, "last webhook at \(lastWebhook)")
        #expect(metrics.sum("kiewatch_relay_oldest_pending_seconds") == 0)
        #expect(metrics.sum("kiewatch_store_bytes") > 0)
        let build = metrics.samples("kiewatch_build_info")
        #expect(build.count == 1 && build.first?.value == 1 && build.first?.label("version")?.isEmpty == false, "\(build.map(\.line))")
        let started = metrics.sum("process_start_time_seconds")
        #expect(started >= stack.startedAt - 2 && started <= now, "process_start_time_seconds \(started)")
        #expect(metrics.sum("process_resident_memory_bytes") > 1_000_000)
        #expect(metrics.sum("process_open_fds") > 3 && metrics.sum("process_open_fds") <= metrics.sum("process_max_fds"))
        #expect(metrics.sum("process_cpu_seconds_total") > 0)

        // The hostile model id became a plain label value; nothing needed escaping.
        let sanitized = try #require(ModelCatalogue.sanitize(Self.hostileModel))
        #expect(metrics.sum("kiewatch_tasks_created_total", ["model": sanitized]) == 1)
        for sample in metrics.families.flatMap(\.samples) {
            for label in sample.labels where label.value.contains(where: { $0 == "\"" || $0 == "\\" || $0 == "\n" }) {
                Issue.record("label \(label.name) carries a raw quote, backslash or newline: \(sample.line)")
            }
        }
    }

    @Test(
        "OpenMetrics of a live agent: # EOF, _created, exemplars naming tasks the console knows",
        .timeLimit(.minutes(2)))
    func openMetrics() async throws {
        let stack = try await LiveStack.start(.init(simulatorArguments: ["--drop-callbacks", "0.3", "--rate-limit", "off"]))
        defer { stack.stop() }
        let traffic = try Traffic.drive(stack)
        let text = try await Self.settledScrape(stack, traffic: traffic)

        for accept in ["application/openmetrics-text", "application/openmetrics-text; version=1.0.0", Self.prometheusAccept] {
            let response = try stack.scrape(accept: accept)
            #expect(response.headers["content-type"]?.hasPrefix("application/openmetrics-text; version=1.0.0") == true,
                    "Accept: \(accept) → \(response.headers["content-type"] ?? "no content type")")
        }
        let response = try stack.scrape(accept: Self.prometheusAccept)
        #expect(response.text.hasSuffix("\n# EOF\n"), "does not end with # EOF: …\(response.text.suffix(80))")
        let metrics: LiveExposition
        do {
            metrics = try LiveExposition(response.text, openMetrics: true)
        } catch {
            Issue.record("OpenMetrics does not parse: \(error)")
            return
        }

        // The same families as the text format, counters without `_total` in their family name.
        let textNames = Set(text.families.map { $0.type == "counter" ? String($0.name.dropLast("_total".count)) : $0.name })
        #expect(Set(metrics.families.map(\.name)) == textNames)
        let names = metrics.families.map(\.name)
        #expect(names == names.sorted(), "families are not in sorted order")
        for family in metrics.families {
            #expect(family.type != nil && family.help?.isEmpty == false, "\(family.name): TYPE and HELP")
            if family.name.hasSuffix("_seconds") && family.type != "counter" {
                #expect(family.unit == "seconds", "\(family.name): # UNIT seconds")
            }
        }

        // `_created` for every kiewatch counter and histogram series, not in the future (the
        // process collector's CPU counter starts with the process: process_start_time_seconds).
        let now = Date().timeIntervalSince1970
        for family in metrics.families where (family.type == "counter" || family.type == "histogram") && family.name.hasPrefix("kiewatch_") {
            let measured = family.type == "counter" ? "_total" : "_count"
            let series = Set(family.samples.filter { $0.name == family.name + measured }.map(\.seriesKey))
            let created = family.samples.filter { $0.name == family.name + "_created" }
            #expect(Set(created.map(\.seriesKey)) == series, "\(family.name): a _created per series")
            for sample in created where sample.value > now + 1 || sample.value < 1_600_000_000 {
                Issue.record("\(family.name): implausible _created: \(sample.line)")
            }
        }

        // Exemplars: on the task-duration and webhook-delay buckets, `{task_id="…"} value timestamp`,
        // the value inside its bucket, and a task id the console can show.
        var exemplarTaskIDs: Set<String> = []
        for name in ["kiewatch_task_duration_seconds", "kiewatch_webhook_delay_seconds"] {
            let family = try #require(metrics.family(name))
            var previousBound: [String: Double] = [:]
            var seen = 0
            for sample in family.samples where sample.name == name + "_bucket" {
                let bound = sample.label("le").flatMap { $0 == "+Inf" ? .infinity : Double($0) } ?? .nan
                defer { previousBound[sample.seriesKey] = bound }
                guard let exemplar = sample.exemplar else { continue }
                seen += 1
                #expect(exemplar.labels.map(\.name) == ["task_id"], "\(sample.line)")
                let lower = previousBound[sample.seriesKey] ?? -.infinity
                #expect(exemplar.value > lower && exemplar.value <= bound, "exemplar outside its bucket: \(sample.line)")
                let timestamp = try #require(exemplar.timestamp, "exemplar without timestamp: \(sample.line)")
                #expect(timestamp >= stack.startedAt - 1 && timestamp <= now + 1, "exemplar timestamp: \(sample.line)")
                if let id = exemplar.labels.first?.value {
                    #expect(traffic.ids.contains(id), "exemplar names a task that was not created: \(sample.line)")
                    exemplarTaskIDs.insert(id)
                }
            }
            #expect(seen > 0, "\(name): no exemplar")
        }
        for id in exemplarTaskIDs.sorted() {
            let result = try stack.console("task \(id)")
            #expect(result.status == 0 && result.output.contains(id), "\(result.commandLine): \(result.output)")
        }

        // Exemplars only where they are promised (a histogram bucket, the two task histograms).
        for sample in metrics.families.flatMap(\.samples) where sample.exemplar != nil {
            #expect(
                sample.name == "kiewatch_task_duration_seconds_bucket" || sample.name == "kiewatch_webhook_delay_seconds_bucket",
                "unexpected exemplar: \(sample.line)")
        }
    }

    @Test("counters survive an agent restart (rebuilt from the store)", .timeLimit(.minutes(2)))
    func countersSurviveRestart() async throws {
        let stack = try await LiveStack.start(.init(simulatorArguments: ["--drop-callbacks", "0.3", "--rate-limit", "off"]))
        defer { stack.stop() }
        let traffic = try Traffic.drive(stack)
        let before = try await Self.settledScrape(stack, traffic: traffic)
        stack.stopAgent()
        try await stack.startAgent()
        let after = try LiveExposition(try stack.scrape().text, openMetrics: false)

        let restored = [
            "kiewatch_api_requests_total", "kiewatch_tasks_created_total", "kiewatch_tasks_finished_total",
            "kiewatch_webhooks_received_total", "kiewatch_webhooks_missed_total", "kiewatch_recovery_polls_total",
            "kiewatch_relay_attempts_total", "kiewatch_credits_consumed_total",
        ]
        for name in restored {
            // The restarted agent checks credits once at start: its own call, not a lost one.
            // Restoring may add zero-valued series (e.g. state="fail"), which is as good as absent.
            let series = { (metrics: LiveExposition) in
                Dictionary(
                    metrics.samples(name).filter { $0.label("endpoint") != "credit" && $0.value != 0 }
                        .map { ($0.seriesKey, $0.value) },
                    uniquingKeysWith: +)
            }
            #expect(series(after) == series(before), "\(name) after restart differs")
        }
        #expect(after.sum("kiewatch_credits_remaining") > 0)
        // Restored from the delivery's receipt time; live it is set just after the commit.
        let lastBefore = before.sum("kiewatch_last_webhook_received_timestamp_seconds")
        let lastAfter = after.sum("kiewatch_last_webhook_received_timestamp_seconds")
        #expect(abs(lastAfter - lastBefore) < 1, "last webhook \(lastBefore) before the restart, \(lastAfter) after")
    }

    @Test(
        "backlog gauges and failure counters move: inflight, stale, relay queue and oldest pending, relay failed and gave_up",
        .timeLimit(.minutes(2)))
    func backlogGaugesMove() async throws {
        // Half the callbacks never come and the agent has no key to poll with, so those tasks stay
        // in flight and go stale after 2 s; the app answers 503, so the other half pile up in the
        // relay outbox until they are given up (second attempt at +5 s, the third would pass 10 s).
        // Each on its own schedule: no circuit breaker holds them, so every attempt reaches the app.
        var options = LiveStack.Options(simulatorArguments: ["--drop-callbacks", "0.5", "--rate-limit", "off"])
        options.agentHasAPIKey = false
        options.callbackStatus = 503
        options.agentConfig = "deadline.default = 2s\nrelay_give_up = 10s\nrelay_breaker_failures = 1000\n"
        let stack = try await LiveStack.start(options)
        defer { stack.stop() }
        for _ in 0..<8 { try stack.createTask(model: "kling-2.6/text-to-video") }

        let waiting = try await LiveWait.until("callbacks to settle in the store", timeout: .seconds(10)) { note in
            let open = try stack.sqlNumber("SELECT count(*) FROM tasks WHERE state NOT IN ('success', 'fail')")
            let pending = try stack.sqlNumber("SELECT count(*) FROM relay_outbox WHERE state = 'pending'")
            note = "\(open) tasks open, \(pending) relays pending"
            return open > 0 && pending > 0 && open + pending == 8 ? (open: open, pending: pending) : nil
        }
        _ = try await LiveWait.until("the backlog gauges to show it", timeout: .seconds(10)) { note in
            let metrics = try LiveExposition(try stack.scrape().text, openMetrics: false)
            let seen = (
                inflight: metrics.sum("kiewatch_tasks_inflight", ["model": "kling-2.6/text-to-video"]),
                stale: metrics.sum("kiewatch_tasks_stale", ["model": "kling-2.6/text-to-video"]),
                depth: metrics.sum("kiewatch_relay_queue_depth"),
                oldest: metrics.sum("kiewatch_relay_oldest_pending_seconds"),
                failed: metrics.sum("kiewatch_relay_attempts_total", ["result": "failed"]))
            note = "\(seen), want inflight = stale = \(waiting.open), depth \(waiting.pending)"
            return seen.inflight == waiting.open && seen.stale == waiting.open && seen.depth == waiting.pending
                && seen.oldest > 0 && seen.failed >= waiting.pending ? true : nil
        }
        _ = try await LiveWait.until("relays to be given up", timeout: .seconds(20)) { note in
            let metrics = try LiveExposition(try stack.scrape().text, openMetrics: false)
            let gaveUp = metrics.sum("kiewatch_relay_attempts_total", ["result": "gave_up"])
            let depth = metrics.sum("kiewatch_relay_queue_depth")
            note = "gave_up \(gaveUp), queue depth \(depth)"
            return gaveUp == waiting.pending && depth == 0 ? true : nil
        }
        let metrics = try LiveExposition(try stack.scrape().text, openMetrics: false)
        #expect(metrics.sum("kiewatch_recovery_polls_total") == 0, "no key, no recovery polls")
        #expect(metrics.sum("kiewatch_relay_oldest_pending_seconds") == 0)
        #expect(Double(stack.receiver.count) == metrics.sum("kiewatch_relay_attempts_total"), "each attempt reached the app")
    }

    @Test("model labels past model_label_cap fold into other, without losing counts", .timeLimit(.minutes(2)))
    func modelLabelCap() async throws {
        var options = LiveStack.Options(simulatorArguments: ["--rate-limit", "off"])
        options.agentConfig = "deadline.default = 2s\nmodel_label_cap = 3\n"
        let stack = try await LiveStack.start(options)
        defer { stack.stop() }
        let models = ["kling-2.6/text-to-video", "sora-2-text-to-video", "wan/2-6-text-to-video", "hailuo/02-text-to-video-pro",
                      "grok-imagine/text-to-video"]
        var traffic = Traffic()
        for model in models { traffic.tasks.append((try stack.createTask(model: model), model)) }
        let metrics = try await Self.settledScrape(stack, traffic: traffic)

        let values = Set(metrics.families.flatMap(\.samples).compactMap { $0.label("model") })
        #expect(values == ["kling-2.6/text-to-video", "sora-2-text-to-video", "wan/2-6-text-to-video", "other", "unknown"],
                "model_label_cap = 3 keeps the first three models (unknown and other use no slot): \(values.sorted())")
        #expect(metrics.sum("kiewatch_tasks_created_total") == Double(models.count))
        #expect(metrics.sum("kiewatch_tasks_finished_total") == Double(models.count))
    }

    // MARK: Shared checks

    /// Every family of the contract is present with its TYPE and a HELP text.
    static func expectContract(_ metrics: LiveExposition, sourceLocation: SourceLocation = #_sourceLocation) {
        for (name, type) in contract {
            guard let family = metrics.family(name) else {
                Issue.record("\(name) missing", sourceLocation: sourceLocation)
                continue
            }
            #expect(family.type == type, "\(name): TYPE \(family.type ?? "none"), want \(type)", sourceLocation: sourceLocation)
            #expect(family.help?.isEmpty == false, "\(name): no HELP", sourceLocation: sourceLocation)
        }
    }

    /// Buckets ascend and accumulate, `+Inf` equals `_count`; bucket layouts fit the quantity.
    static func expectHistogramsConsistent(_ metrics: LiveExposition, sourceLocation: SourceLocation = #_sourceLocation) {
        for family in metrics.families where family.type == "histogram" {
            var buckets: [String: [(Double, Double)]] = [:]
            for sample in family.samples where sample.name == family.name + "_bucket" {
                let bound = sample.label("le").flatMap { $0 == "+Inf" ? .infinity : Double($0) } ?? .nan
                buckets[sample.seriesKey, default: []].append((bound, sample.value))
            }
            for sample in family.samples where sample.name == family.name + "_count" {
                let series = buckets[sample.seriesKey] ?? []
                let bounds = series.map(\.0)
                let counts = series.map(\.1)
                #expect(bounds == bounds.sorted() && Set(bounds).count == bounds.count, "\(family.name){\(sample.seriesKey)}: le order",
                        sourceLocation: sourceLocation)
                #expect(counts == counts.sorted(), "\(family.name){\(sample.seriesKey)}: buckets decrease", sourceLocation: sourceLocation)
                #expect(bounds.last == .infinity && counts.last == sample.value,
                        "\(family.name){\(sample.seriesKey)}: +Inf bucket \(counts.last ?? -1) vs count \(sample.value)",
                        sourceLocation: sourceLocation)
                let finite = bounds.filter(\.isFinite)
                switch family.name {
                case "kiewatch_task_duration_seconds", "kiewatch_webhook_delay_seconds":
                    #expect((finite.last ?? 0) >= 1800, "\(family.name): buckets must reach 30-60 minutes", sourceLocation: sourceLocation)
                case "kiewatch_api_request_duration_seconds", "kiewatch_relay_duration_seconds":
                    #expect((finite.first ?? 1) <= 0.005, "\(family.name): buckets must start at milliseconds", sourceLocation: sourceLocation)
                default: break
                }
            }
        }
    }
}
