import KieWatchCore

/// Copies of the payload samples in the shared fixtures/kie directory (kept outside the
/// repository), so the shape tests run anywhere. Keep them in sync with the originals.
enum KieFixtures {
    static func json(_ text: String) -> JSONValue { try! JSONValue.parse(text) }

    static let createResponseOK = json(#"{"code":200,"msg":"success","data":{"taskId":"task_sora-2-pro_1765184035859"}}"#)
    static let credit = json(#"{"code":200,"msg":"success","data":2510330}"#)
    static let error401 = json(#"{"code":401,"msg":"You do not have access permissions"}"#)
    static let error402 = json(#"{"code":402,"msg":"Insufficient Credits"}"#)
    static let error422Ratio = json(#"{"code":422,"msg":"Ratio error"}"#)
    static let error429 = json(#"{"code":429,"msg":"Too many requests"}"#)
    static let error455 = json(#"{"code":455,"msg":"Service Unavailable"}"#)
    static let recordInfoUnknown = json(#"{"code":422,"msg":"recordInfo is null","data":null}"#)

    static let recordInfoGenerating = json(
        #"""
        {"code":200,"msg":"success","data":{"taskId":"task_12345678","model":"sora-2-text-to-video","state":"generating",
        "param":"{\"model\":\"sora-2-text-to-video\",\"input\":{\"prompt\":\"sunset\"}}","resultJson":null,"failCode":"",
        "failMsg":"","costTime":null,"completeTime":null,"createTime":1698765400000,"updateTime":1698765410000,"progress":40}}
        """#)
    static let recordInfoSuccess = json(
        #"""
        {"code":200,"msg":"success","data":{"taskId":"task_12345678","model":"sora-2-text-to-video","state":"success",
        "param":"{\"model\":\"sora-2-text-to-video\",\"input\":{\"prompt\":\"sunset\"}}",
        "resultJson":"{\"resultUrls\":[\"https://files.example/video.mp4\"]}","failCode":"","failMsg":"","costTime":32000,
        "completeTime":1698765432000,"createTime":1698765400000,"updateTime":1698765432000}}
        """#)
    static let recordInfoFail = json(
        #"""
        {"code":200,"msg":"success","data":{"taskId":"task_87654321","model":"kling-2.6/text-to-video","state":"fail",
        "param":"{}","resultJson":null,"failCode":"500","failMsg":"Internal server error","costTime":null,
        "completeTime":1698765500000,"createTime":1698765400000,"updateTime":1698765500000}}
        """#)

    static let veoRecordInfoGenerating = json(
        #"""
        {"code":200,"msg":"success","data":{"taskId":"veo_task_abc","paramJson":"{\"prompt\":\"city\"}",
        "createTime":1698765400000,"completeTime":null,"response":null,"successFlag":0,"errorCode":null,"errorMessage":null}}
        """#)
    static let veoRecordInfoSuccess = json(
        #"""
        {"code":200,"msg":"success","data":{"taskId":"veo_task_abc","paramJson":"{\"prompt\":\"city\"}",
        "createTime":1698765400000,"completeTime":1698765490000,"response":{"taskId":"veo_task_abc",
        "resultUrls":["https://files.example/veo.mp4"],"originUrls":["https://files.example/veo-origin.mp4"],
        "resolution":"1080p"},"successFlag":1,"errorCode":null,"errorMessage":null}}
        """#)
    static let veoRecordInfoFailed = json(
        #"""
        {"code":200,"msg":"success","data":{"taskId":"veo_task_def","paramJson":"{}","createTime":1698765400000,
        "completeTime":1698765470000,"response":null,"successFlag":2,"errorCode":400,"errorMessage":"content policy violation"}}
        """#)

    static let callbackMarketSuccess = json(
        #"""
        {"code":200,"msg":"Playground task completed successfully.","data":{"taskId":"e989621f54392584b05867f87b160672",
        "model":"sora-2-text-to-video","state":"success","param":"{}",
        "resultJson":"{\"resultUrls\":[\"https://files.example/video.mp4\"],\"resultWaterMarkUrls\":[\"https://files.example/video-watermark.mp4\"]}",
        "failCode":null,"failMsg":null,"consumeCredits":100,"remainedCredits":2510330,"costTime":8,
        "completeTime":1755599644000,"createTime":1755599634000}}
        """#)
    static let callbackMarketSuccessCreditsConsumed = json(
        #"""
        {"code":200,"msg":"Playground task completed successfully.","data":{"taskId":"task_kling_001",
        "model":"kling-2.6/text-to-video","state":"success","param":"{}",
        "resultJson":"{\"resultUrls\":[\"https://files.example/k.mp4\"]}","failCode":null,"failMsg":null,"costTime":41000,
        "completeTime":1755599700000,"createTime":1755599659000,"updateTime":1755599700000,"creditsConsumed":105}}
        """#)
    static let callbackMarketFail = json(
        #"""
        {"code":501,"msg":"Playground task failed.","data":{"taskId":"bd3a37c523149e4adf45a3ddb5faf1a8",
        "model":"grok-imagine/text-to-video","state":"fail","failCode":"500","failMsg":"Internal server error",
        "resultJson":null,"consumeCredits":0,"remainedCredits":2510430}}
        """#)
    static let callbackVeoSuccess = json(
        #"""
        {"code":200,"msg":"Veo3.1 video generated successfully.","data":{"taskId":"veo_task_abc",
        "info":{"resultUrls":["https://files.example/veo.mp4"],"originUrls":["https://files.example/veo-origin.mp4"],
        "resolution":"1080p"},"fallbackFlag":false}}
        """#)
    static let callbackVeoFail = json(
        #"{"code":422,"msg":"Your prompt was flagged by the content checker.","data":{"taskId":"veo_task_def","fallbackFlag":false}}"#)
}
