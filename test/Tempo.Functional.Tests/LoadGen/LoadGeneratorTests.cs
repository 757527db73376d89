using System.Net;
using System.Net.Sockets;

using Tempo.Core;
using Tempo.LoadGen;
using Tempo.TestSupport;

namespace Tempo.Functional.Tests.LoadGen;

public sealed class LoadGeneratorTests
{
    [Fact]
    public async Task RunAsync_CollectiveJob_SendsNextStageOnlyAfterPreviousStageEnded()
    {
        await using var server = await FakeOpenAiServer.StartAsync();
        server.FirstTokenDelay = TimeSpan.FromMilliseconds(100);
        server.ChunkDelay = TimeSpan.FromMilliseconds(20);
        var workload = Specs.Of(
            Specs.Call(1, 0, job: 7, stage: 0, stages: 2, output: 3),
            Specs.Call(2, 0, job: 7, stage: 0, stages: 2, output: 5),
            Specs.Call(3, 0, job: 7, stage: 1, stages: 2, output: 2));

        var result = await new LoadGenerator().RunAsync(workload, Specs.Options(server.Url));

        var served = server.Served;
        Assert.Equal(3, served.Count);
        var stage0 = served.Where(s => s.Body.GetProperty("slo").GetProperty("stage").GetInt32() == 0).ToList();
        var stage1 = Assert.Single(served, s => s.Body.GetProperty("slo").GetProperty("stage").GetInt32() == 1);
        Assert.Equal(2, stage0.Count);
        Assert.True(stage1.ReceivedS >= stage0.Max(s => s.EndedS), "stage 1 was sent before stage 0 finished");
        Assert.Single(served.Select(s => s.Body.GetProperty("slo").GetProperty("job_id").GetString()).Distinct());
        Assert.All(served, s => Assert.Equal("collective", s.Body.GetProperty("slo").GetProperty("class").GetString()));
        Assert.All(served, s => Assert.Equal(60000, s.Body.GetProperty("slo").GetProperty("deadline_ms").GetInt32()));

        var records = result.Records.OrderBy(r => r.Spec.Id).ToList();
        Assert.All(records, r => Assert.True(r.Completed));
        Assert.Single(records.Select(r => r.Spec.ArrivalS).Distinct());
        Assert.True(records[2].ArrivalS >= Math.Max(records[0].FinishS, records[1].FinishS));
        Assert.Equal(1, result.Metrics.JobsMet);
    }

    [Fact]
    public async Task RunAsync_ServerError_RecordsAbortedWithReasonAndAbandonsLaterStages()
    {
        await using var server = await FakeOpenAiServer.StartAsync();
        server.FailWith = body => body.GetProperty("max_tokens").GetInt32() == 7 ? 500 : null;
        var workload = Specs.Of(
            Specs.Latency(1, 0, output: 7),
            Specs.Throughput(2, 0.01, output: 3),
            Specs.Call(3, 0.02, job: 1, stage: 0, stages: 2, output: 7),
            Specs.Call(4, 0.02, job: 1, stage: 1, stages: 2, output: 3));

        var result = await new LoadGenerator().RunAsync(workload, Specs.Options(server.Url));

        Assert.Equal(4, result.Records.Count);
        Assert.Equal(4, result.Records.Select(r => r.Spec.Id).Distinct().Count());
        var failed = result.Records.Single(r => r.Spec.Id == 1);
        Assert.Equal(FinishReason.Aborted, failed.Reason);
        Assert.Contains("http 500", failed.Detail, StringComparison.Ordinal);
        Assert.Contains("injected failure", failed.Detail, StringComparison.Ordinal);
        Assert.True(result.Records.Single(r => r.Spec.Id == 2).Completed);
        var abandoned = result.Records.Single(r => r.Spec.Id == 4);
        Assert.Equal(FinishReason.Aborted, abandoned.Reason);
        Assert.StartsWith("job abandoned: call 3", abandoned.Detail, StringComparison.Ordinal);
        Assert.Equal(2, result.ErrorsByKind["http 500"]);
        Assert.Equal(1, result.Abandoned);
        Assert.Equal(3, result.Sent);
        Assert.Equal(3, server.Served.Count);
    }

    [Fact]
    public async Task RunAsync_ConnectionRefused_RecordsEveryRequestAborted()
    {
        var url = new Uri($"http://127.0.0.1:{ClosedPort()}");
        var workload = Specs.Of(Specs.Latency(1, 0, 4), Specs.Throughput(2, 0.01, 4));

        var result = await new LoadGenerator().RunAsync(workload, Specs.Options(url));

        Assert.Equal(2, result.Records.Count);
        Assert.All(result.Records, r => Assert.Equal(FinishReason.Aborted, r.Reason));
        Assert.All(result.Records, r => Assert.StartsWith("connection refused", r.Detail, StringComparison.Ordinal));
        Assert.Equal(2, result.ErrorsByKind["connection refused"]);
        Assert.Equal("default", result.Model);
        Assert.NotNull(result.ModelProblem);
        Assert.Equal(0, result.Metrics.Total.Completed);
    }

    [Fact]
    public async Task RunAsync_MergedChunks_ReconcilesTokenCountWithUsage()
    {
        await using var server = await FakeOpenAiServer.StartAsync();
        server.TokensPerChunk = 3;
        server.ChunkDelay = TimeSpan.FromMilliseconds(30);

        var result = await new LoadGenerator().RunAsync(Specs.Of(Specs.Latency(1, 0, output: 7)), Specs.Options(server.Url));

        var r = Assert.Single(result.Records);
        Assert.Equal(7, r.TokenTimesS.Count);
        Assert.Equal(r.TokenTimesS[0], r.TokenTimesS[2]);
        Assert.True(r.TokenTimesS[3] > r.TokenTimesS[2]);
        Assert.Equal(1, result.ChunkCountMismatches);
        Assert.Equal(1, result.WithUsage);
        Assert.Equal(11, result.ReportedPromptTokens);
        Assert.Equal(8, result.SpecPromptTokens);
    }

    [Fact]
    public async Task RunAsync_NoUsage_CountsOneTokenPerChunk()
    {
        await using var server = await FakeOpenAiServer.StartAsync();
        server.TokensPerChunk = 2;
        server.SendUsage = false;

        var result = await new LoadGenerator().RunAsync(Specs.Of(Specs.Latency(1, 0, output: 4)), Specs.Options(server.Url));

        Assert.Equal(2, Assert.Single(result.Records).TokenTimesS.Count);
        Assert.Equal(0, result.WithUsage);
    }

    [Fact]
    public async Task RunAsync_ChatEndpoint_SendsMessagesAndParsesDeltas()
    {
        await using var server = await FakeOpenAiServer.StartAsync();
        var options = Specs.Options(server.Url) with { Endpoint = ApiEndpoint.Chat, ApiKey = "sk-test" };

        var result = await new LoadGenerator().RunAsync(Specs.Of(Specs.Latency(1, 0, output: 4, prompt: 12)), options);

        Assert.Equal(4, Assert.Single(result.Records).TokenTimesS.Count);
        var served = Assert.Single(server.Served);
        var content = served.Body.GetProperty("messages")[0].GetProperty("content").GetString()!;
        Assert.Equal(12, content.Split(' ').Length);
        Assert.Equal("Bearer sk-test", served.Headers["authorization"]);
        Assert.Equal("10000", served.Headers["x-llm-d-slo-ttft-ms"]);
        Assert.Equal("5000", served.Headers["x-llm-d-slo-tpot-ms"]);
    }

    [Fact]
    public async Task RunAsync_ServerIgnoresStream_TimesAllTokensAtTheEnd()
    {
        await using var server = await FakeOpenAiServer.StartAsync();
        server.IgnoreStream = true;

        var result = await new LoadGenerator().RunAsync(Specs.Of(Specs.Throughput(1, 0, output: 4)), Specs.Options(server.Url));

        var r = Assert.Single(result.Records);
        Assert.True(r.Completed);
        Assert.Equal(4, r.TokenTimesS.Count);
        Assert.All(r.TokenTimesS, t => Assert.Equal(r.TokenTimesS[0], t));
    }

    [Fact]
    public async Task RunAsync_Duration_StopsSendingNewArrivals()
    {
        await using var server = await FakeOpenAiServer.StartAsync();
        var workload = Specs.Of([.. Enumerable.Range(0, 10).Select(i => Specs.Throughput(i + 1, i * 0.1, output: 2))]);
        var options = Specs.Options(server.Url) with { DurationS = 0.45 };

        var result = await new LoadGenerator().RunAsync(workload, options);

        Assert.Equal(5, result.Records.Count);
        Assert.Equal(5, result.Sent);
        Assert.Equal(5, result.BeyondDuration);
        Assert.Equal(5, server.Served.Count);
    }

    [Fact]
    public async Task RunAsync_NoModelGiven_SendsFirstListedModelOrDefault()
    {
        await using var server = await FakeOpenAiServer.StartAsync();
        var first = await new LoadGenerator().RunAsync(Specs.Of(Specs.Throughput(1, 0, 1)), Specs.Options(server.Url));
        server.Models = [];
        var second = await new LoadGenerator().RunAsync(Specs.Of(Specs.Throughput(1, 0, 1)), Specs.Options(server.Url));

        Assert.Equal("fake-model", first.Model);
        Assert.Equal("default", second.Model);
        Assert.Equal(["fake-model", "default"], server.Served.Select(s => s.Body.GetProperty("model").GetString()));
    }

    [Fact]
    public async Task RunAsync_Progress_ReportsEverySendAndEnd()
    {
        await using var server = await FakeOpenAiServer.StartAsync();
        var reports = new List<BenchProgress>();
        var progress = new Collect(reports);

        await new LoadGenerator().RunAsync(Specs.Of(Specs.Throughput(1, 0, 2), Specs.Throughput(2, 0.05, 2)), Specs.Options(server.Url), progress);

        lock (reports)
        {
            Assert.Equal(4, reports.Count);
            Assert.Contains(reports, p => p is { Ended: 2, Planned: 2, InFlight: 0, Failed: 0 });
        }
    }

    private static int ClosedPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    private sealed class Collect(List<BenchProgress> into) : IProgress<BenchProgress>
    {
        public void Report(BenchProgress value)
        {
            lock (into)
            {
                into.Add(value);
            }
        }
    }
}
