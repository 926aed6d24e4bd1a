import KieWatchCore
import KieWatchTestSupport

/// The payload samples (`Tests/Fixtures/kie`) the simulator's answers are compared with.
/// Each throws when its file is missing or unreadable, so the test using it fails and says which.
enum KieFixtures {
    static func load(_ name: String) throws -> JSONValue { try Fixtures.kieJSON(name) }

    static var createResponseOK: JSONValue { get throws { try load("create-response-ok.json") } }
    static var credit: JSONValue { get throws { try load("credit.json") } }
    static var error401: JSONValue { get throws { try load("error-401.json") } }
    static var error402: JSONValue { get throws { try load("error-402.json") } }
    static var error422Ratio: JSONValue { get throws { try load("error-422-ratio.json") } }
    static var error429: JSONValue { get throws { try load("error-429.json") } }
    static var error455: JSONValue { get throws { try load("error-455.json") } }
    static var recordInfoUnknown: JSONValue { get throws { try load("recordinfo-unknown.json") } }
    static var recordInfoGenerating: JSONValue { get throws { try load("recordinfo-generating.json") } }
    static var recordInfoSuccess: JSONValue { get throws { try load("recordinfo-success.json") } }
    static var recordInfoFail: JSONValue { get throws { try load("recordinfo-fail.json") } }
    static var veoRecordInfoGenerating: JSONValue { get throws { try load("veo-recordinfo-generating.json") } }
    static var veoRecordInfoSuccess: JSONValue { get throws { try load("veo-recordinfo-success.json") } }
    static var callbackMarketFail: JSONValue { get throws { try load("callback-market-fail.json") } }
    static var callbackMarketSuccess: JSONValue { get throws { try load("callback-market-success.json") } }
    static var callbackMarketSuccessCreditsConsumed: JSONValue {
        get throws { try load("callback-market-success-creditsconsumed.json") }
    }
    static var callbackVeoFail: JSONValue { get throws { try load("callback-veo-fail.json") } }
    static var callbackVeoSuccess: JSONValue { get throws { try load("callback-veo-success.json") } }
}
