using System.Text.Json;



using Tempo.Backends;

namespace Tempo.Functional.Tests.Server;

/// <summary>The OpenAI wire format details, the completions API and the SLO extension, over raw HTTP.</summary>
public sealed class WireFormatTests
{
    [Fact]
    public async Task ChatNonStream_Always_CarriesTempoMeasurementsAndVerdict()
    {
        await using var f = await ServerFixture.Start();

        // Generous bounds: the verdict must not depend on how busy the test machine is.
        var (status, body, _) = await f.Post("v1/chat/completions", ServerFixture.ChatBody(maxTokens: 5, extra: ""","slo":{"ttft_ms":20000,"tbt_ms":5000}"""));

        Assert.Equal(200, status);
        Assert.Equal("chat.completion", body.GetProperty("object").GetString());
        var tempo = body.GetProperty("tempo");
        Assert.Equal("latency", tempo.GetProperty("class").GetString());
        Assert.True(tempo.GetProperty("ttft_s").GetDouble() > 0);
        Assert.True(tempo.GetProperty("e2e_s").GetDouble() >= tempo.GetProperty("ttft_s").GetDouble());
        Assert.True(tempo.GetProperty("slo_met").GetBoolean());
        var prompt = body.GetProperty("usage").GetProperty("prompt_tokens").GetInt32();
        Assert.Equal(prompt + (8 * 5), tempo.GetProperty("service_gain").GetDouble());
        Assert.Equal("length", tempo.GetProperty("finish").GetString());
        Assert.Equal(20000, tempo.GetProperty("slo").GetProperty("ttft_ms").GetDouble());
        Assert.Equal(10000, tempo.GetProperty("slo").GetProperty("deadline_ms").GetDouble()); // the default fills the gap
    }

    [Fact]
    public async Task ChatStream_IncludeUsage_EndsWithFinishChunkUsageChunkAndDone()
    {
        await using var f = await ServerFixture.Start();

        var events = await f.Stream("v1/chat/completions", ServerFixture.ChatBody(maxTokens: 4, extra: ""","stream_options":{"include_usage":true},"slo":{"ttft_ms":20000,"tbt_ms":5000}""", stream: true));

        // role chunk, 4 token chunks, finish chunk, usage chunk, [DONE]
        Assert.Equal(8, events.Count);
        Assert.Equal("[DONE]", events[^1]);
        var chunks = events[..^1].Select(e => JsonDocument.Parse(e).RootElement).ToList();
        Assert.All(chunks, c => Assert.Equal("chat.completion.chunk", c.GetProperty("object").GetString()));
        Assert.Equal("assistant", chunks[0].GetProperty("choices")[0].GetProperty("delta").GetProperty("role").GetString());
        Assert.All(chunks[1..5], c => Assert.Equal(SimulatedBackend.PlaceholderToken, c.GetProperty("choices")[0].GetProperty("delta").GetProperty("content").GetString()));
        Assert.All(chunks[..5], c => Assert.Equal(JsonValueKind.Null, c.GetProperty("choices")[0].GetProperty("finish_reason").ValueKind));
        Assert.Equal("length", chunks[5].GetProperty("choices")[0].GetProperty("finish_reason").GetString());
        Assert.True(chunks[5].GetProperty("tempo").GetProperty("slo_met").GetBoolean());
        Assert.Equal(0, chunks[6].GetProperty("choices").GetArrayLength());
        Assert.Equal(4, chunks[6].GetProperty("usage").GetProperty("completion_tokens").GetInt32());
        Assert.True(chunks[6].TryGetProperty("tempo", out _));
    }

    [Fact]
    public async Task ChatStream_WithoutIncludeUsage_SendsNoUsageChunk()
    {
        await using var f = await ServerFixture.Start();

        var events = await f.Stream("v1/chat/completions", ServerFixture.ChatBody(maxTokens: 2, stream: true));

        Assert.Equal(5, events.Count); // role, 2 tokens, finish, [DONE]
        Assert.DoesNotContain(events[..^1], e => JsonDocument.Parse(e).RootElement.TryGetProperty("usage", out _));
    }

    [Fact]
    public async Task Completions_NonStreamAndStream_ReturnTextCompletions()
    {
        await using var f = await ServerFixture.Start();

        var (status, body, _) = await f.Post("v1/completions", """{"prompt":"Once upon a time","max_tokens":3}""");
        var events = await f.Stream("v1/completions", """{"prompt":["Once upon a time"],"max_tokens":3,"stream":true,"stream_options":{"include_usage":true}}""");

        Assert.Equal(200, status);
        Assert.Equal("text_completion", body.GetProperty("object").GetString());
        Assert.Equal(" tok tok tok", body.GetProperty("choices")[0].GetProperty("text").GetString());
        Assert.Equal(4, body.GetProperty("usage").GetProperty("prompt_tokens").GetInt32()); // 16 characters, 4 per token
        Assert.Equal(["[DONE]"], events[^1..]);
        var chunks = events[..^1].Select(e => JsonDocument.Parse(e).RootElement).ToList();
        Assert.Equal(" tok tok tok", string.Concat(chunks.Where(c => c.GetProperty("choices").GetArrayLength() > 0).Select(c => c.GetProperty("choices")[0].GetProperty("text").GetString())));
        Assert.Equal(3, chunks[^1].GetProperty("usage").GetProperty("completion_tokens").GetInt32());
    }

    [Fact]
    public async Task Completions_TokenIdPrompt_CountsTheIds()
    {
        await using var f = await ServerFixture.Start();

        var (status, body, _) = await f.Post("v1/completions", """{"prompt":[1,2,3,4,5,6],"max_tokens":1}""");

        Assert.Equal(200, status);
        Assert.Equal(6, body.GetProperty("usage").GetProperty("prompt_tokens").GetInt32());
    }

    [Fact]
    public async Task Chat_LlmdHeaders_MakeALatencySloWithThoseBounds()
    {
        await using var f = await ServerFixture.Start(o => o with { DefaultClass = Core.RequestClass.Throughput });

        var (status, body, _) = await f.Post("v1/chat/completions", ServerFixture.ChatBody(maxTokens: 2), ("x-llm-d-slo-ttft-ms", "250"), ("x-llm-d-slo-tpot-ms", "40"));

        Assert.Equal(200, status);
        var tempo = body.GetProperty("tempo");
        Assert.Equal("latency", tempo.GetProperty("class").GetString());
        Assert.Equal(250, tempo.GetProperty("slo").GetProperty("ttft_ms").GetDouble());
        Assert.Equal(40, tempo.GetProperty("slo").GetProperty("tbt_ms").GetDouble());
    }

    [Fact]
    public async Task Chat_BodySloThroughput_IsJudgedByItsDeadline()
    {
        await using var f = await ServerFixture.Start();

        var (_, met, _) = await f.Post("v1/chat/completions", ServerFixture.ChatBody(maxTokens: 3, extra: ""","slo":{"class":"throughput","deadline_ms":5000},"priority":-1"""));
        var (_, missed, _) = await f.Post("v1/chat/completions", ServerFixture.ChatBody(maxTokens: 30, extra: ""","slo":{"deadline_ms":1}"""));

        Assert.Equal("throughput", met.GetProperty("tempo").GetProperty("class").GetString());
        Assert.True(met.GetProperty("tempo").GetProperty("slo_met").GetBoolean());
        Assert.Equal("throughput", missed.GetProperty("tempo").GetProperty("class").GetString());
        Assert.False(missed.GetProperty("tempo").GetProperty("slo_met").GetBoolean());
        Assert.Equal(0, missed.GetProperty("tempo").GetProperty("service_gain").GetDouble());
    }

    [Fact]
    public async Task Chat_CollectiveCalls_ShareTheJobDeadline()
    {
        await using var f = await ServerFixture.Start(o => o with { Policy = "tempo" });
        const string slo = ""","slo":{"class":"collective","deadline_ms":20000,"job_id":"job-1","stage":0,"stage_count":2,"app":"deep-research"}""";

        var (s1, first, _) = await f.Post("v1/chat/completions", ServerFixture.ChatBody(maxTokens: 3, extra: slo));
        var (s2, second, _) = await f.Post("v1/chat/completions", ServerFixture.ChatBody(maxTokens: 3, extra: slo.Replace("\"stage\":0", "\"stage\":1", StringComparison.Ordinal)));

        Assert.Equal(200, s1);
        Assert.Equal(200, s2);
        Assert.Equal("collective", second.GetProperty("tempo").GetProperty("class").GetString());
        Assert.True(first.GetProperty("tempo").GetProperty("slo_met").GetBoolean());
        Assert.True(second.GetProperty("tempo").GetProperty("slo_met").GetBoolean());
        // The second call's e2e counts from its own arrival; the job clock runs from the first call.
        Assert.True(second.GetProperty("tempo").GetProperty("e2e_s").GetDouble() > 0);
    }

    [Fact]
    public async Task Health_Running_Returns200()
    {
        await using var f = await ServerFixture.Start();

        using var response = await f.Http.GetAsync(new Uri("health", UriKind.Relative));

        Assert.Equal(200, (int)response.StatusCode);
    }
}
