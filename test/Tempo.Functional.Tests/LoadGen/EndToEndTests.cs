using System.Globalization;

using Tempo.Backends;
using Tempo.Core;
using Tempo.Llama;
using Tempo.LoadGen;
using Tempo.Server;
using Tempo.Workloads;

namespace Tempo.Functional.Tests.LoadGen;

/// <summary>
/// The whole path: our server on a freshly written tiny random-weight GGUF (real llama.cpp compute on the CPU), driven by
/// the load generator with the mixed workload, and the client's counts checked against the server's /metrics.
/// </summary>
public sealed class EndToEndTests
{
    /// <summary>Seconds of arrivals; the run also waits for the tail of requests and jobs to finish.</summary>
    private const double SendForS = 10;

    [Fact]
    [Trait("Category", "EndToEnd")]
    public async Task RunAsync_MixedWorkloadAgainstTinyModel_EveryRequestOnceAndCountsMatchMetrics()
    {
        var dir = Directory.CreateTempSubdirectory("tempo-bench-e2e-").FullName;
        try
        {
            var path = Path.Combine(dir, "tiny.gguf");
            GgufModelWriter.Write(path, new GgufModelOptions { Layers = 2, Embedding = 64, Vocabulary = 512, Context = 1024, Heads = 4, Seed = 5 });
            await using var server = await TempoServer.StartAsync(
                new ServerOptions { Port = 0, StatsInterval = TimeSpan.Zero, ShutdownGrace = TimeSpan.Zero, Policy = "tempo", MaxBatch = 8 },
                LlamaBackend.Load(path, threads: 2, contextSize: 4096));

            // The mixed workload at 3 arrivals/s, lengths shrunk to what a 1k-context toy model serves in a few ms a step.
            var mixed = WorkloadCatalog.Create("mixed", new WorkloadOptions { Requests = 60, Rate = 3, Seed = 9 });
            var workload = mixed with
            {
                Requests = [.. mixed.Requests.Select(r => r with { PromptTokens = Math.Min(r.PromptTokens, 24), PromptText = null, OutputTokens = Math.Min(r.OutputTokens, 16) })],
            };
            var options = new BenchOptions { BaseUrl = server.BaseAddress, DurationS = SendForS, Timeout = TimeSpan.FromSeconds(60) };

            var result = await new LoadGenerator().RunAsync(workload, options);

            // Every planned call ended exactly once, and completed with its full length (ignore_eos + max_tokens).
            Assert.Equal(result.Planned, result.Records.Count);
            Assert.Equal(result.Records.Count, result.Records.Select(r => r.Spec.Id).Distinct().Count());
            Assert.Equal(result.Planned, result.Sent);
            Assert.Empty(result.ErrorsByKind);
            Assert.All(result.Records, r => Assert.Equal(FinishReason.Length, r.Reason));
            Assert.All(result.Records, r => Assert.Equal(r.Spec.OutputTokens, r.TokenTimesS.Count));
            Assert.Equal(result.Records.Count, result.WithUsage);
            Assert.Contains(result.Records, r => r.Spec.Class == RequestClass.Collective);

            var metrics = await ScrapeAsync(server.BaseAddress);
            Assert.Equal(result.Records.Count, Sum(metrics, "vllm:request_success_total"));
            Assert.Equal(result.Records.Count, Sum(metrics, "tempo_requests_ended_total"));
            Assert.Equal(result.OutputTokens, Sum(metrics, "vllm:generation_tokens_total"));
            Assert.Equal(result.ReportedPromptTokens, Sum(metrics, "vllm:prompt_tokens_total"));
            foreach (var c in Enum.GetValues<RequestClass>())
            {
                // The server classified every call from the slo field exactly as the workload did.
                var label = $"class=\"{c.ToString().ToLowerInvariant()}\"";
                var served = Sum(metrics, "tempo_slo_attained_total", label) + Sum(metrics, "tempo_slo_missed_total", label);
                Assert.Equal(result.Metrics.ByClass[c].Requests, served);
            }
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private static async Task<List<(string Series, double Value)>> ScrapeAsync(Uri root)
    {
        using var http = new HttpClient();
        var text = await http.GetStringAsync(new Uri(root, "metrics"));
        return
        [
            .. text.Split('\n', StringSplitOptions.RemoveEmptyEntries)
                .Where(line => !line.StartsWith('#'))
                .Select(line => (line[..line.LastIndexOf(' ')], double.Parse(line[(line.LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture))),
        ];
    }

    private static long Sum(List<(string Series, double Value)> metrics, string name, string? label = null) =>
        (long)metrics.Where(m => (m.Series == name || m.Series.StartsWith(name + "{", StringComparison.Ordinal)) && (label is null || m.Series.Contains(label, StringComparison.Ordinal)))
            .Sum(m => m.Value);
}
