using System.Text.Json;

using Tempo.Backends;
using Tempo.Server;

namespace Tempo.Functional.Tests.Server;

/// <summary>Client disconnects and graceful shutdown: every accepted request ends once, and its KV is freed.</summary>
public sealed class LifecycleTests
{
    [Fact]
    public async Task ChatStream_ClientDisconnects_RequestIsAbortedAndKvFreed()
    {
        await using var f = await ServerFixture.Start();
        using (var request = ServerFixture.StreamRequest(ServerFixture.ChatBody(maxTokens: 5000, stream: true)))
        using (var response = await f.Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead))
        {
            await ServerFixture.ReadEvents(new StreamReader(await response.Content.ReadAsStreamAsync()), 4);
            Assert.Equal(1, f.Server.Engine.Running);
            Assert.True(f.Server.Engine.KvUsage > 0);
        }

        // Disposing the response closes the connection mid-stream.
        await ServerFixture.WaitUntil(() => f.Server.Engine.Live == 0, TimeSpan.FromSeconds(5), "the engine to drop the request");
        Assert.Equal(0, f.Server.Engine.KvUsage);
        var metrics = await f.Metrics();
        Assert.Equal(1, metrics["tempo_requests_ended_total{reason=\"abort\"}"]);
        Assert.Equal(1, metrics["tempo_slo_missed_total{class=\"latency\"}"]);
        Assert.Equal(0, metrics[$"vllm:num_requests_running{{model_name=\"{f.Model}\"}}"]);
    }

    [Fact]
    public async Task ChatNonStream_ClientCancels_RequestIsAborted()
    {
        await using var f = await ServerFixture.Start();
        using var cancel = new CancellationTokenSource();
        using var request = ServerFixture.StreamRequest(ServerFixture.ChatBody(maxTokens: 5000));
        var call = f.Http.SendAsync(request, cancel.Token);
        await ServerFixture.WaitUntil(() => f.Server.Engine.Running == 1, TimeSpan.FromSeconds(5), "the request to run");

        await cancel.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => call);
        await ServerFixture.WaitUntil(() => f.Server.Engine.Live == 0, TimeSpan.FromSeconds(5), "the engine to drop the request");
    }

    [Fact]
    public async Task Stop_NoGrace_InFlightStreamsGetAFinalAbortEventAndNewRequestsAreRefused()
    {
        var f = await ServerFixture.Start(o => o with { ShutdownGrace = TimeSpan.Zero });
        await using var _ = f;
        using var request = ServerFixture.StreamRequest(ServerFixture.ChatBody(maxTokens: 5000, stream: true));
        using var response = await f.Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        using var body = new StreamReader(await response.Content.ReadAsStreamAsync());
        var first = await ServerFixture.ReadEvents(body, 3);

        var stopping = f.Server.StopAsync();
        var rest = await ServerFixture.ReadEvents(body, int.MaxValue);
        await stopping;

        Assert.Equal(3, first.Count);
        Assert.Equal("[DONE]", rest[^1]);
        var final = JsonDocument.Parse(rest[^2]).RootElement;
        Assert.Equal("abort", final.GetProperty("choices")[0].GetProperty("finish_reason").GetString());
        Assert.Equal("abort", final.GetProperty("tempo").GetProperty("finish").GetString());
        Assert.False(final.GetProperty("tempo").GetProperty("slo_met").GetBoolean());
        Assert.Equal(1, rest.Count(e => e.Contains("finish_reason\":\"", StringComparison.Ordinal)));
        Assert.Equal(0, f.Server.Engine.Live);
        Assert.False(f.Server.Engine.Accepting);
    }

    [Fact]
    public async Task Stop_WithGrace_InFlightRequestFinishesNormally()
    {
        var f = await ServerFixture.Start(o => o with { ShutdownGrace = TimeSpan.FromSeconds(20) });
        await using var _ = f;
        using var request = ServerFixture.StreamRequest(ServerFixture.ChatBody(maxTokens: 60, stream: true));
        using var response = await f.Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        using var body = new StreamReader(await response.Content.ReadAsStreamAsync());
        await ServerFixture.ReadEvents(body, 2);

        var stopping = f.Server.StopAsync();
        var rest = await ServerFixture.ReadEvents(body, int.MaxValue);
        await stopping;

        var final = JsonDocument.Parse(rest[^2]).RootElement;
        Assert.Equal("length", final.GetProperty("choices")[0].GetProperty("finish_reason").GetString());
        Assert.Equal(59, rest.Count - 2); // the other 59 tokens, then the finish chunk and [DONE]
    }

    [Fact]
    public async Task StartAsync_PortTaken_ThrowsIOException()
    {
        await using var f = await ServerFixture.Start();
        var options = new ServerOptions { Port = f.Server.BaseAddress.Port, StatsInterval = TimeSpan.Zero };

        await Assert.ThrowsAnyAsync<IOException>(() => TempoServer.StartAsync(options, new SimulatedBackend(Simulation.Profiles.CostProfile.Default)));
    }

    [Fact]
    public async Task Predictor_GivenInOptions_IsWhatTheSchedulerAsks()
    {
        var predictor = new CountingPredictor();
        await using var f = await ServerFixture.Start(o => o with { Policy = "tempo", Predictor = predictor });

        var (status, _, _) = await f.Post("/v1/chat/completions", ServerFixture.ChatBody(maxTokens: 4));

        Assert.Equal(200, status);
        Assert.Equal(1, predictor.Calls);
    }

    [Fact]
    public async Task StartAsync_UnknownPolicy_ThrowsArgumentException()
    {
        var options = new ServerOptions { Port = 0, Policy = "no-such-policy" };

        var e = await Assert.ThrowsAsync<ArgumentException>(() => TempoServer.StartAsync(options, new SimulatedBackend(Simulation.Profiles.CostProfile.Default)));

        Assert.Contains("no-such-policy", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Drain_NewRequest_Gets503AndHealthReportsUnavailable()
    {
        await using var f = await ServerFixture.Start(o => o with { ShutdownGrace = TimeSpan.FromSeconds(20) });
        using var request = ServerFixture.StreamRequest(ServerFixture.ChatBody(maxTokens: 200, stream: true));
        using var response = await f.Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        using var body = new StreamReader(await response.Content.ReadAsStreamAsync());
        await ServerFixture.ReadEvents(body, 2);

        // Drain through the host directly: Kestrel stops accepting connections once StopAsync runs.
        f.Server.Host.BeginDrain(TimeSpan.FromSeconds(20));
        var (status, error, _) = await f.Post("v1/chat/completions", ServerFixture.ChatBody(maxTokens: 2));
        using var health = await f.Http.GetAsync(new Uri("health", UriKind.Relative));
        var rest = await ServerFixture.ReadEvents(body, int.MaxValue);

        Assert.Equal(503, status);
        Assert.Equal("unavailable", error.GetProperty("error").GetProperty("code").GetString());
        Assert.Equal(503, (int)health.StatusCode);
        Assert.Equal("[DONE]", rest[^1]); // the in-flight stream still completes
    }

    private sealed class CountingPredictor : Scheduling.Prediction.ILengthPredictor
    {
        private int _calls;

        public string Name => "counting";

        public int Calls => Volatile.Read(ref _calls);

        public Scheduling.Prediction.ILengthPosterior Predict(Core.RequestSpec spec)
        {
            Interlocked.Increment(ref _calls);
            return Scheduling.Prediction.LengthPredictors.Create("fixed", fixedLength: 64).Predict(spec);
        }
    }
}
