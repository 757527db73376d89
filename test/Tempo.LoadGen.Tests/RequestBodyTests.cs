using System.Text.Json;

using Tempo.Core;
using Tempo.TestSupport;

namespace Tempo.LoadGen.Tests;

public sealed class RequestBodyTests
{
    [Fact]
    public void Build_LatencyCompletion_HasReplayFieldsAndLatencySlo()
    {
        var spec = Specs.Latency(3, 0, output: 17, prompt: 5, slo: new Slo(1.5, 0.1, 20)) with { Priority = 2 };

        using var doc = JsonDocument.Parse(RequestBody.Build(spec, ApiEndpoint.Completions, "m1", sendSlo: true, "tag"));

        var root = doc.RootElement;
        Assert.Equal("m1", root.GetProperty("model").GetString());
        Assert.Equal(5, root.GetProperty("prompt").GetString()!.Split(' ').Length);
        Assert.Equal(17, root.GetProperty("max_tokens").GetInt32());
        Assert.True(root.GetProperty("ignore_eos").GetBoolean());
        Assert.True(root.GetProperty("stream").GetBoolean());
        Assert.True(root.GetProperty("stream_options").GetProperty("include_usage").GetBoolean());
        Assert.Equal(2, root.GetProperty("priority").GetInt32());
        var slo = root.GetProperty("slo");
        Assert.Equal("latency", slo.GetProperty("class").GetString());
        Assert.Equal(1500, slo.GetProperty("ttft_ms").GetInt32());
        Assert.Equal(100, slo.GetProperty("tbt_ms").GetInt32());
        Assert.False(slo.TryGetProperty("deadline_ms", out _));
    }

    [Fact]
    public void Build_Throughput_HasDeadlineOnly()
    {
        using var doc = JsonDocument.Parse(RequestBody.Build(Specs.Throughput(1, 0, 4), ApiEndpoint.Completions, "m", true, "tag"));

        var slo = doc.RootElement.GetProperty("slo");
        Assert.Equal("throughput", slo.GetProperty("class").GetString());
        Assert.Equal(60000, slo.GetProperty("deadline_ms").GetInt32());
        Assert.False(slo.TryGetProperty("ttft_ms", out _));
    }

    [Fact]
    public void Build_CollectiveChat_HasJobStageStageCountAppAndMessages()
    {
        using var doc = JsonDocument.Parse(RequestBody.Build(Specs.Call(9, 0, job: 17, stage: 2, stages: 4, output: 3), ApiEndpoint.Chat, "m", true, "bench-ab"));

        var root = doc.RootElement;
        Assert.Equal("user", root.GetProperty("messages")[0].GetProperty("role").GetString());
        Assert.False(root.TryGetProperty("prompt", out _));
        var slo = root.GetProperty("slo");
        Assert.Equal("collective", slo.GetProperty("class").GetString());
        Assert.Equal("bench-ab-j17", slo.GetProperty("job_id").GetString());
        Assert.Equal(2, slo.GetProperty("stage").GetInt32());
        Assert.Equal(4, slo.GetProperty("stage_count").GetInt32());
        Assert.Equal("tot", slo.GetProperty("app").GetString());
    }

    [Fact]
    public void Build_SloOff_OmitsSlo()
    {
        using var doc = JsonDocument.Parse(RequestBody.Build(Specs.Throughput(1, 0, 4), ApiEndpoint.Completions, "m", false, "tag"));

        Assert.False(doc.RootElement.TryGetProperty("slo", out _));
    }

    [Fact]
    public void For_PromptTextShorterOrLonger_CutOrPaddedToTheTokenCount()
    {
        var shortText = Specs.Latency(1, 0, 1, prompt: 10) with { PromptText = "Explain  how\nthis works" };
        var longText = Specs.Latency(2, 0, 1, prompt: 2) with { PromptText = "one two three four" };

        var padded = SyntheticPrompt.For(shortText);
        Assert.StartsWith("Explain how this works ", padded, StringComparison.Ordinal);
        Assert.Equal(10, Estimate(padded));
        Assert.Equal("one two", SyntheticPrompt.For(longText));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(7)]
    [InlineData(500)]
    public void For_FillerOnly_OneWordAndFourCharactersPerToken(int tokens)
    {
        var prompt = SyntheticPrompt.For(Specs.Latency(5, 0, 1, prompt: tokens));

        Assert.Equal(tokens, prompt.Split(' ').Length);
        Assert.Equal(tokens, (prompt.Length + 3) / 4);
    }

    private static int Estimate(string prompt) => SyntheticPrompt.Estimate(prompt.Split(' ').Length, prompt.Length);

    [Fact]
    public void For_DifferentRequests_StartDifferently()
    {
        var a = SyntheticPrompt.For(Specs.Latency(1, 0, 1, prompt: 50));
        var b = SyntheticPrompt.For(Specs.Latency(2, 0, 1, prompt: 50));

        Assert.NotEqual(a.Split(' ')[0], b.Split(' ')[0]);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(7)]
    [InlineData(500)]
    public void Build_PromptIds_ExactlyPromptTokensIdsAboveTheSpecialIdsAndBelow256(int tokens)
    {
        var spec = Specs.Latency(12345, 0, 3, prompt: tokens) with { PromptText = "Explain how volcanoes work." };

        using var doc = JsonDocument.Parse(RequestBody.Build(spec, ApiEndpoint.Completions, "m", true, "tag", promptIds: true));

        var prompt = doc.RootElement.GetProperty("prompt");
        Assert.Equal(JsonValueKind.Array, prompt.ValueKind);
        var ids = prompt.EnumerateArray().Select(e => e.GetInt32()).ToList();
        Assert.Equal(tokens, ids.Count);
        Assert.All(ids, id => Assert.InRange(id, 32, 255));
        Assert.Equal(Enumerable.Range(0, tokens).Select(i => 32 + (int)(((12345L * 7919) + i) % 200)), ids);
    }

    [Fact]
    public void Build_PromptIds_SameRequestSameIdsOtherRequestOtherStart()
    {
        var a = PromptTokenIds.For(Specs.Latency(1, 0, 1, prompt: 40));
        var again = PromptTokenIds.For(Specs.Latency(1, 3, 9, prompt: 40));
        var b = PromptTokenIds.For(Specs.Latency(2, 0, 1, prompt: 40));
        var huge = PromptTokenIds.For(Specs.Latency((1L << 40) + 3, 0, 1, prompt: 40));

        Assert.Equal(a, again);
        Assert.NotEqual(a[0], b[0]);
        Assert.All(huge, id => Assert.InRange(id, 32, 231));
    }

    [Fact]
    public void Build_PromptIdsWithChat_Rejected()
    {
        Assert.Throws<ArgumentException>(() => RequestBody.Build(Specs.Latency(1, 0, 3), ApiEndpoint.Chat, "m", true, "tag", promptIds: true));
        var options = Specs.Options(new Uri("http://127.0.0.1:1")) with { Endpoint = ApiEndpoint.Chat, PromptTokenIds = true };
        Assert.Contains("completions", Assert.Throws<ArgumentException>(options.Validate).Message, StringComparison.Ordinal);
    }
}
