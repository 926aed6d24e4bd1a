import KieWatchCore
import KieWatchTestSupport

/// The shared payload samples (`../shared/fixtures/kie`) the simulator's answers are compared with.
enum KieFixtures {
    static func load(_ name: String) -> JSONValue {
        do { return try Fixtures.kieJSON(name) } catch { fatalError("\(error)") }
    }

    static var createResponseOK: JSONValue { load("create-response-ok.json") }
    static var credit: JSONValue { load("credit.json") }
    static var error401: JSONValue { load("error-401.json") }
    static var error402: JSONValue { load("error-402.json") }
    static var error422Ratio: JSONValue { load("error-422-ratio.json") }
    static var error429: JSONValue { load("error-429.json") }
    static var error455: JSONValue { load("error-455.json") }
    static var recordInfoUnknown: JSONValue { load("recordinfo-unknown.json") }
    static var recordInfoGenerating: JSONValue { load("recordinfo-generating.json") }
    static var recordInfoSuccess: JSONValue { load("recordinfo-success.json") }
    static var recordInfoFail: JSONValue { load("recordinfo-fail.json") }
    static var veoRecordInfoGenerating: JSONValue { load("veo-recordinfo-generating.json") }
    static var veoRecordInfoSuccess: JSONValue { load("veo-recordinfo-success.json") }
    static var callbackMarketFail: JSONValue { load("callback-market-fail.json") }
    static var callbackMarketSuccess: JSONValue { load("callback-market-success.json") }
    static var callbackMarketSuccessCreditsConsumed: JSONValue { load("callback-market-success-creditsconsumed.json") }
    static var callbackVeoFail: JSONValue { load("callback-veo-fail.json") }
    static var callbackVeoSuccess: JSONValue { load("callback-veo-success.json") }
}
