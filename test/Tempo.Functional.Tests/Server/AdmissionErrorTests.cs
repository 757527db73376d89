using System.Text.Json;


namespace Tempo.Functional.Tests.Server;

/// <summary>Bad requests over raw HTTP: OpenAI-style error bodies, and the engine never touched.</summary>
public sealed class AdmissionErrorTests
{
    public static TheoryData<string, string, string?> BadChatBodies => new()
    {
        { "malformed JSON", """{"messages":[{"role":"user","content":"hi"}""", null },
        { "not an object", """[1,2,3]""", null },
        { "missing messages", """{"model":"sim-llama3.1-8b-a100","max_tokens":4}""", "messages" },
        { "empty messages", """{"messages":[],"max_tokens":4}""", "messages" },
        { "unknown role", """{"messages":[{"role":"wizard","content":"hi"}]}""", "messages" },
        { "unknown model", """{"model":"gpt-17","messages":[{"role":"user","content":"hi"}]}""", "model" },
        { "max_tokens zero", """{"messages":[{"role":"user","content":"hi"}],"max_tokens":0}""", "max_tokens" },
        { "max_tokens negative", """{"messages":[{"role":"user","content":"hi"}],"max_tokens":-5}""", "max_tokens" },
        { "max_tokens past the context", """{"messages":[{"role":"user","content":"hi"}],"max_tokens":9000}""", "max_tokens" },
        { "negative SLO", """{"messages":[{"role":"user","content":"hi"}],"slo":{"class":"latency","ttft_ms":-1}}""", "slo" },
        { "absurd SLO", """{"messages":[{"role":"user","content":"hi"}],"slo":{"class":"throughput","deadline_ms":1e15}}""", "slo" },
        { "unknown SLO class", """{"messages":[{"role":"user","content":"hi"}],"slo":{"class":"urgent"}}""", "slo" },
        { "collective without job", """{"messages":[{"role":"user","content":"hi"}],"slo":{"class":"collective","deadline_ms":1000}}""", "slo" },
        { "wrong type", """{"messages":[{"role":"user","content":"hi"}],"max_tokens":"many"}""", null },
        { "n above one", """{"messages":[{"role":"user","content":"hi"}],"n":2}""", "n" },
    };

    [Theory]
    [MemberData(nameof(BadChatBodies))]
    public async Task Chat_BadBody_Returns400WithOpenAiErrorAndLeavesEngineUntouched(string why, string json, string? param)
    {
        await using var f = await ServerFixture.Start();

        var (status, body, _) = await f.Post("v1/chat/completions", json);

        Assert.True(status == 400, $"{why}: got {status}");
        var error = body.GetProperty("error");
        Assert.False(string.IsNullOrWhiteSpace(error.GetProperty("message").GetString()));
        Assert.Equal("invalid_request_error", error.GetProperty("type").GetString());
        if (param is not null)
        {
            Assert.Equal(param, error.GetProperty("param").GetString());
        }

        Assert.Equal(0, f.Server.Engine.Steps);
        var metrics = await f.Metrics();
        Assert.Equal(1, metrics["tempo_requests_refused_total{reason=\"invalid\"}"]);
        Assert.Equal(0, metrics[$"tempo_engine_live_requests{{model_name=\"{f.Model}\"}}"]);
    }

    [Fact]
    public async Task Chat_PromptLongerThanContext_Returns400()
    {
        await using var f = await ServerFixture.Start();
        var longText = new string('x', 4 * 9000);

        var (status, body, _) = await f.Post("v1/chat/completions", $$"""{"messages":[{"role":"user","content":"{{longText}}"}]}""");

        Assert.Equal(400, status);
        Assert.Equal("context_length_exceeded", body.GetProperty("error").GetProperty("code").GetString());
        Assert.Equal(0, f.Server.Engine.Steps);
    }

    [Theory]
    [InlineData("x-llm-d-slo-ttft-ms", "-20")]
    [InlineData("x-llm-d-slo-tpot-ms", "soon")]
    [InlineData("x-llm-d-slo-ttft-ms", "NaN")]
    public async Task Chat_BadSloHeader_Returns400(string header, string value)
    {
        await using var f = await ServerFixture.Start();

        var (status, body, _) = await f.Post("v1/chat/completions", ServerFixture.ChatBody(), (header, value));

        Assert.Equal(400, status);
        Assert.Equal("slo", body.GetProperty("error").GetProperty("param").GetString());
    }

    [Fact]
    public async Task Completions_MissingPrompt_Returns400()
    {
        await using var f = await ServerFixture.Start();

        var (status, body, _) = await f.Post("v1/completions", """{"max_tokens":3}""");

        Assert.Equal(400, status);
        Assert.Equal("prompt", body.GetProperty("error").GetProperty("param").GetString());
    }

    [Theory]
    [InlineData(null)]
    [InlineData("Bearer wrong")]
    [InlineData("s3cret")]
    public async Task Chat_ApiKeyMissingOrWrong_Returns401(string? authorization)
    {
        await using var f = await ServerFixture.Start(o => o with { ApiKey = "s3cret" });
        var headers = authorization is null ? [] : new[] { ("Authorization", authorization) };

        var (status, body, _) = await f.Post("v1/chat/completions", ServerFixture.ChatBody(), headers);
        using var health = await f.Http.GetAsync(new Uri("health", UriKind.Relative));

        Assert.Equal(401, status);
        Assert.Equal("invalid_api_key", body.GetProperty("error").GetProperty("code").GetString());
        Assert.Equal(200, (int)health.StatusCode); // health and metrics stay open to probes, as in vLLM
        Assert.Equal(0, f.Server.Engine.Steps);
    }

    [Fact]
    public async Task Chat_QueueFull_Returns429WithRetryAfter()
    {
        // One sequence per step and room for one waiting request: the third concurrent request is refused.
        await using var f = await ServerFixture.Start(o => o with { MaxBatch = 1, MaxQueue = 1 });
        using var running = ServerFixture.StreamRequest(ServerFixture.ChatBody(maxTokens: 5000, stream: true));
        using var runningResponse = await f.Http.SendAsync(running, HttpCompletionOption.ResponseHeadersRead);
        await ServerFixture.ReadEvents(new StreamReader(await runningResponse.Content.ReadAsStreamAsync()), 2); // role + first token: it runs
        using var waiting = ServerFixture.StreamRequest(ServerFixture.ChatBody(maxTokens: 5, stream: true));
        using var waitingResponse = await f.Http.SendAsync(waiting, HttpCompletionOption.ResponseHeadersRead);
        await ServerFixture.WaitUntil(() => f.Server.Engine.Waiting == 1, TimeSpan.FromSeconds(5), "the second request to wait");

        var (status, body, response) = await f.Post("v1/chat/completions", ServerFixture.ChatBody(maxTokens: 5));

        Assert.Equal(429, status);
        Assert.Equal("queue_full", body.GetProperty("error").GetProperty("code").GetString());
        Assert.NotNull(response.Headers.RetryAfter);
        Assert.Equal(1, (await f.Metrics())["tempo_requests_refused_total{reason=\"queue_full\"}"]);
        Assert.Equal(JsonValueKind.Object, body.ValueKind);
    }
}
