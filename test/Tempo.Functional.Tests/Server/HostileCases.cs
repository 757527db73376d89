using System.Text;


namespace Tempo.Functional.Tests.Server;

/// <summary>One abusive request and the answer it must get.</summary>
/// <param name="Name">What the case tries.</param>
/// <param name="Method">HTTP method, sent verbatim.</param>
/// <param name="Path">Request target, sent verbatim.</param>
/// <param name="Body">Body bytes, or null for none.</param>
/// <param name="Headers">Extra header lines, sent verbatim (CR/LF included).</param>
/// <param name="Status">The status it must get.</param>
/// <param name="Code">The error code it must carry, when one is fixed.</param>
public sealed record HostileCase(string Name, string Method, string Path, byte[]? Body, (string Name, string Value)[] Headers, int Status, string? Code = null)
{
    public override string ToString() => Name;
}

/// <summary>The table of hostile requests (each distinct), built from a few shapes so every field gets every abuse.</summary>
internal static class HostileCases
{
    private const string Chat = "/v1/chat/completions";
    private const string Completions = "/v1/completions";
    private const string Hi = """[{"role":"user","content":"hi"}]""";

    /// <summary>Requests that must be refused on a server without an API key.</summary>
    public static IEnumerable<HostileCase> Open()
    {
        // Wrong JSON types for every field of a chat request.
        var wrongTypes = new (string Field, string Value)[]
        {
            ("model", "17"), ("model", "{}"), ("model", "[]"), ("model", "true"),
            ("messages", "\"hi\""), ("messages", "{}"), ("messages", "3"), ("messages", "null"), ("messages", "[1,2]"), ("messages", "[\"hi\"]"),
            ("max_tokens", "\"many\""), ("max_tokens", "1.5"), ("max_tokens", "true"), ("max_tokens", "1e10"), ("max_tokens", "99999999999"), ("max_tokens", "[]"),
            ("max_completion_tokens", "\"x\""), ("max_completion_tokens", "-3"),
            ("stream", "\"yes\""), ("stream", "1"), ("stream_options", "\"on\""), ("stream_options", "{\"include_usage\":\"yes\"}"),
            ("temperature", "\"hot\""), ("temperature", "-1"), ("temperature", "3"), ("temperature", "1e308"),
            ("top_p", "0"), ("top_p", "1.5"), ("top_p", "\"all\""),
            ("seed", "\"x\""), ("seed", "1e20"),
            ("n", "0"), ("n", "2"), ("n", "\"1\""),
            ("stop", "3"), ("stop", "\"\""), ("stop", "{}"), ("stop", "[1]"), ("stop", "[\"\"]"), ("stop", "[" + string.Join(',', Enumerable.Repeat("\"a\"", 17)) + "]"),
            ("stop", "\"" + new string('s', 2000) + "\""),
            ("ignore_eos", "\"true\""), ("priority", "\"high\""), ("priority", "1e12"),
            ("slo", "\"fast\""), ("slo", "[]"), ("slo", "5"),
        };
        foreach (var (field, value) in wrongTypes)
        {
            yield return Bad($"chat {field} = {Short(value)}", ChatWith(field == "messages" ? "" : $",\"{field}\":{value}", field == "messages" ? value : Hi));
        }

        // Every SLO field, out of range or of the wrong type.
        var slos = new[]
        {
            """{"class":17}""", """{"class":"urgent"}""", $$"""{"class":"{{new string('c', 300)}}"}""",
            """{"ttft_ms":-1}""", """{"ttft_ms":0}""", """{"ttft_ms":1e15}""", """{"ttft_ms":"fast"}""", """{"ttft_ms":true}""",
            """{"tbt_ms":-5}""", """{"tbt_ms":1e300}""", """{"deadline_ms":-1}""", """{"deadline_ms":"soon"}""", """{"deadline_ms":1e20}""",
            """{"class":"collective","deadline_ms":1000}""",
            """{"class":"collective","job_id":{},"deadline_ms":1000}""", """{"class":"collective","job_id":-1,"deadline_ms":1000}""",
            """{"class":"collective","job_id":"","deadline_ms":1000}""", """{"class":"collective","job_id":true,"deadline_ms":1000}""",
            """{"class":"collective","job_id":1.5,"deadline_ms":1000}""", $$"""{"class":"collective","job_id":"{{new string('j', 300)}}","deadline_ms":1000}""",
            """{"class":"collective","job_id":"j","stage":-1}""", """{"class":"collective","job_id":"j","stage":5000000}""",
            """{"class":"collective","job_id":"j","stage_count":0}""", """{"class":"collective","job_id":"j","stage_count":2147483647}""",
            """{"class":"collective","job_id":"j","stage_count":20000000}""", """{"class":"collective","job_id":"j","stage":3,"stage_count":3}""",
            """{"class":"collective","job_id":"j","stage":2147483647}""", """{"class":"collective","job_id":"j","stage_count":"many"}""",
            """{"class":"collective","job_id":"j","app":17}""", $$"""{"class":"collective","job_id":"j","app":"{{new string('a', 10_000)}}"}""",
            """{"class":"collective","job_id":"j","app":""}""",
        };
        foreach (var slo in slos)
        {
            yield return Bad($"slo {Short(slo)}", ChatWith($",\"slo\":{slo}"));
        }

        // Message structure.
        var messages = new[]
        {
            """[{"content":"hi"}]""", """[{"role":null,"content":"hi"}]""", """[{"role":5,"content":"hi"}]""", """[null]""",
            """[{"role":"user","content":5}]""", """[{"role":"user","content":true}]""", """[{"role":"user","content":{}}]""",
            """[{"role":"user","content":[1]}]""", """[{"role":"user","content":[{"type":"image_url","image_url":{"url":"x"}}]}]""",
            """[{"role":"user","content":[{"type":"text"}]}]""", """[{"role":"user","content":[{"type":"text","text":5}]}]""",
        };
        foreach (var m in messages)
        {
            yield return Bad($"messages {Short(m)}", ChatWith("", m));
        }

        // Completions prompt shapes.
        foreach (var prompt in new[] { "5", "true", "{}", "[]", "[\"a\",\"b\"]", "[1,\"a\"]", "[-1]", "[1.5]", "[99999999999]", "null" })
        {
            yield return Bad($"completions prompt {prompt}", Encoding.UTF8.GetBytes($$"""{"prompt":{{prompt}},"max_tokens":2}"""), Completions);
        }

        // Invalid text: raw invalid UTF-8 bytes, and lone surrogate escapes, in every text field.
        var textFields = new (string Name, string Path, Func<string, string> Body)[]
        {
            ("content", Chat, t => $$"""{"messages":[{"role":"user","content":"{{t}}"}],"max_tokens":2}"""),
            ("text part", Chat, t => $$"""{"messages":[{"role":"user","content":[{"type":"text","text":"{{t}}"}]}],"max_tokens":2}"""),
            ("prompt", Completions, t => $$"""{"prompt":"{{t}}","max_tokens":2}"""),
            ("stop", Chat, t => $$"""{"messages":{{Hi}},"stop":"{{t}}","max_tokens":2}"""),
            ("job_id", Chat, t => $$$"""{"messages":{{{Hi}}},"max_tokens":2,"slo":{"class":"collective","job_id":"{{{t}}}","deadline_ms":1000}}"""),
            ("model", Chat, t => $$"""{"model":"{{t}}","messages":{{Hi}},"max_tokens":2}"""),
            ("role", Chat, t => $$"""{"messages":[{"role":"{{t}}","content":"hi"}],"max_tokens":2}"""),
            ("app", Chat, t => $$$"""{"messages":{{{Hi}}},"max_tokens":2,"slo":{"class":"collective","job_id":"j","app":"{{{t}}}"}}"""),
        };
        foreach (var (name, path, body) in textFields)
        {
            yield return new HostileCase($"lone high surrogate in {name}", "POST", path, Encoding.UTF8.GetBytes(body("a\\ud800b")), [], 400);
            yield return new HostileCase($"lone low surrogate in {name}", "POST", path, Encoding.UTF8.GetBytes(body("\\udc00")), [], 400);
            yield return new HostileCase($"invalid UTF-8 in {name}", "POST", path, WithInvalidUtf8(body("@@")), [], 400);
        }

        // Malformed JSON, NaN and Infinity (not JSON), deep nesting, huge bodies.
        yield return Bad("truncated JSON", Encoding.UTF8.GetBytes("""{"messages":[{"role":"user","content":"hi"}"""));
        yield return Bad("NaN literal", Encoding.UTF8.GetBytes($$"""{"messages":{{Hi}},"temperature":NaN}"""));
        yield return Bad("Infinity literal", Encoding.UTF8.GetBytes($$"""{"messages":{{Hi}},"max_tokens":Infinity}"""));
        yield return Bad("trailing garbage", Encoding.UTF8.GetBytes($$"""{"messages":{{Hi}}} xyz"""));
        yield return Bad("empty body", []);
        yield return Bad("JSON null body", "null"u8.ToArray());
        yield return Bad("JSON string body", "\"hi\""u8.ToArray());
        yield return Bad("deep nesting in an unknown field", Encoding.UTF8.GetBytes($$"""{"messages":{{Hi}},"x":{{new string('[', 5000)}}{{new string(']', 5000)}}}"""));
        yield return Bad("deep nesting in content", Encoding.UTF8.GetBytes($$"""{"messages":[{"role":"user","content":{{new string('[', 2000)}}{{new string(']', 2000)}}}]}"""));
        yield return Bad("prompt over the byte cap", Encoding.UTF8.GetBytes($$"""{"prompt":"{{new string('x', 600_000)}}","max_tokens":2}"""), Completions, "context_length_exceeded");
        yield return Bad("many messages over the byte cap", Encoding.UTF8.GetBytes($$"""{"messages":[{{string.Join(',', Enumerable.Repeat("{\"role\":\"user\",\"content\":\"" + new string('m', 1000) + "\"}", 400))}}]}"""), Chat, "context_length_exceeded");
        yield return Bad("token ids past the context", Encoding.UTF8.GetBytes($$"""{"prompt":[{{string.Join(',', Enumerable.Repeat("1", 9000))}}],"max_tokens":2}"""), Completions, "context_length_exceeded");
        yield return new HostileCase("body over the size limit", "POST", Chat, Encoding.UTF8.GetBytes($$"""{"messages":[{"role":"user","content":"{{new string('z', 5_000_000)}}"}]}"""), [], 413, "body_too_large");

        // SLO headers: injection and garbage.
        yield return new HostileCase("SLO header with CRLF injection", "POST", Chat, ChatWith(""), [("x-llm-d-slo-ttft-ms", "100\r\nx-llm-d-slo-ttft-ms: 200")], 400);
        yield return new HostileCase("SLO header twice", "POST", Chat, ChatWith(""), [("x-llm-d-slo-ttft-ms", "100"), ("x-llm-d-slo-ttft-ms", "200")], 400);
        yield return new HostileCase("SLO header not a number", "POST", Chat, ChatWith(""), [("x-llm-d-slo-tpot-ms", "soon")], 400);
        yield return new HostileCase("SLO header negative", "POST", Chat, ChatWith(""), [("x-llm-d-slo-tpot-ms", "-1")], 400);
        yield return new HostileCase("SLO header Infinity", "POST", Chat, ChatWith(""), [("x-llm-d-slo-ttft-ms", "Infinity")], 400);
        yield return new HostileCase("SLO header huge", "POST", Chat, ChatWith(""), [("x-llm-d-slo-ttft-ms", "1e400")], 400);
        yield return new HostileCase("headers over the size limit", "POST", Chat, ChatWith(""), [("x-filler", new string('h', 40_000))], 431, "headers_too_large");

        // Odd paths and methods.
        yield return new HostileCase("unknown route", "GET", "/nope", null, [], 404, "not_found");
        yield return new HostileCase("v1 root", "GET", "/v1", null, [], 404, "not_found");
        yield return new HostileCase("unknown v1 route", "POST", "/v1/embeddings", ChatWith(""), [], 404, "not_found");
        yield return new HostileCase("GET on chat", "GET", Chat, null, [], 405, "method_not_allowed");
        yield return new HostileCase("DELETE on models", "DELETE", "/v1/models", null, [], 405, "method_not_allowed");
        yield return new HostileCase("PUT on health", "PUT", "/health", null, [], 405, "method_not_allowed");
        yield return new HostileCase("POST on metrics", "POST", "/metrics", ChatWith(""), [], 405, "method_not_allowed");
        yield return new HostileCase("made-up method", "BREW", Chat, null, [], 405, "method_not_allowed");
        yield return new HostileCase("path traversal", "GET", "/v1/../../etc/passwd", null, [], 404, "not_found");
        yield return new HostileCase("encoded traversal", "GET", "/v1/%2e%2e/%2e%2e/etc/passwd", null, [], 404, "not_found");
    }

    /// <summary>Requests that must be refused on a server with API key <paramref name="key"/>.</summary>
    public static IEnumerable<HostileCase> Keyed(string key)
    {
        var paths = new[] { "/v1/models", "/V1/models", "/V1/MODELS", "/v1/Models", "/%76%31/models", "/v1/models/", "/v%31/models" };
        foreach (var path in paths)
        {
            yield return new HostileCase($"GET {path} without a key", "GET", path, null, [], 401, "invalid_api_key");
        }

        foreach (var path in new[] { Chat, "/V1/chat/completions", "/v1/CHAT/COMPLETIONS", "/V1/Completions" })
        {
            yield return new HostileCase($"POST {path} without a key", "POST", path, ChatWith(""), [], 401, "invalid_api_key");
        }

        var wrong = new (string Why, string Value)[]
        {
            ("wrong key", "Bearer nope"), ("lowercase scheme", "bearer " + key), ("no scheme", key), ("basic scheme", "Basic " + key),
            ("double space", "Bearer  " + key), ("key listed twice", "Bearer " + key + ", Bearer " + key), ("key prefix", "Bearer " + key[..^1]),
            ("key plus suffix", "Bearer " + key + "x"), ("empty header", ""), ("key in another case", "Bearer " + key.ToUpperInvariant()),
        };
        foreach (var (why, value) in wrong)
        {
            yield return new HostileCase($"authorization: {why}", "GET", "/v1/models", null, [("Authorization", value)], 401, "invalid_api_key");
        }
    }

    private static HostileCase Bad(string name, byte[] body, string path = Chat, string? code = null) => new(name, "POST", path, body, [], 400, code);

    private static byte[] ChatWith(string extra, string messages = Hi) =>
        Encoding.UTF8.GetBytes($$"""{"messages":{{messages}},"max_tokens":2{{extra}}}""");

    // Replaces the marker "@@" with bytes that are not UTF-8 (a lone continuation byte and an invalid lead byte).
    private static byte[] WithInvalidUtf8(string body)
    {
        var at = body.IndexOf("@@", StringComparison.Ordinal);
        return [.. Encoding.UTF8.GetBytes(body[..at]), 0x80, 0xFF, .. Encoding.UTF8.GetBytes(body[(at + 2)..])];
    }

    private static string Short(string s) => s.Length <= 60 ? s : s[..40] + $"…({s.Length} chars)";
}
