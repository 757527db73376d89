using System.Text.Json;


namespace Tempo.Functional.Tests.Server;

/// <summary>One request's failure stays that request's; drains stay visible; job state stays bounded.</summary>
public sealed class ResilienceTests
{
    [Fact]
    public async Task SchedulerThrowsForOneRequest_ThatRequestEndsWithAReason_EngineServesTheNext()
    {
        await using var f = await ServerFixture.Start(o => o with { Policy = "tempo", Predictor = new ThrowingPredictor() });

        var (status, body, _) = await f.Post("v1/chat/completions", """{"messages":[{"role":"user","content":"boom"}],"max_tokens":4}""");
        var (next, _, _) = await f.Post("v1/chat/completions", ServerFixture.ChatBody(maxTokens: 3));

        Assert.Equal(503, status);
        Assert.Equal("rejected", body.GetProperty("error").GetProperty("code").GetString());
        Assert.Contains("could not take this request", body.GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Equal(200, next);
        Assert.True(f.Server.Engine.Accepting);
        Assert.Equal(0, f.Server.Engine.Live);
    }

    [Fact]
    public async Task StopAsync_WhileDraining_ListenerStaysOpenAnswering503_InFlightStreamFinishes()
    {
        var f = await ServerFixture.Start(o => o with { ShutdownGrace = TimeSpan.FromSeconds(20) });
        await using var _ = f;
        using var request = ServerFixture.StreamRequest(ServerFixture.ChatBody(maxTokens: 300, stream: true));
        using var response = await f.Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        using var body = new StreamReader(await response.Content.ReadAsStreamAsync());
        await ServerFixture.ReadEvents(body, 2);

        var stopping = f.Server.StopAsync();
        await ServerFixture.WaitUntil(() => !f.Server.Engine.Accepting, TimeSpan.FromSeconds(5), "the drain to begin");
        using var fresh = new HttpClient { BaseAddress = f.Server.BaseAddress };
        using var health = await fresh.GetAsync(new Uri("health", UriKind.Relative));
        using var refused = await fresh.PostAsync(new Uri("v1/chat/completions", UriKind.Relative), new StringContent(ServerFixture.ChatBody(maxTokens: 2), System.Text.Encoding.UTF8, "application/json"));
        var rest = await ServerFixture.ReadEvents(body, int.MaxValue);
        await stopping;

        Assert.Equal(503, (int)health.StatusCode);
        Assert.Equal(503, (int)refused.StatusCode);
        Assert.Equal("unavailable", JsonDocument.Parse(await refused.Content.ReadAsStringAsync()).RootElement.GetProperty("error").GetProperty("code").GetString());
        Assert.Equal("[DONE]", rest[^1]);
        Assert.Equal("length", JsonDocument.Parse(rest[^2]).RootElement.GetProperty("choices")[0].GetProperty("finish_reason").GetString());
    }

    [Fact]
    public async Task CollectiveJobsThatNeverFinish_JobTableStaysBounded()
    {
        await using var f = await ServerFixture.Start(o => o with { MaxTrackedJobs = 5 });

        for (var i = 0; i < 12; i++)
        {
            var (status, _, _) = await f.Post("v1/chat/completions", ServerFixture.ChatBody(maxTokens: 1, extra: $$""","slo":{"class":"collective","job_id":"never-done-{{i}}","stage":0,"stage_count":3,"deadline_ms":60000}"""));
            Assert.Equal(200, status);
        }

        Assert.Equal(5, f.Server.Host.TrackedJobs);
    }

    private sealed class ThrowingPredictor : Scheduling.Prediction.ILengthPredictor
    {
        public string Name => "throws-on-boom";

        public Scheduling.Prediction.ILengthPosterior Predict(Core.RequestSpec spec) =>
            spec.PromptText?.Contains("boom", StringComparison.Ordinal) == true
                ? throw new InvalidOperationException("predictor failed on this prompt")
                : Scheduling.Prediction.LengthPredictors.Create("fixed", fixedLength: 64).Predict(spec);
    }
}
