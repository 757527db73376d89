using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;

using Tempo.Cli;
using Tempo.Workloads;

namespace Tempo.Functional.Tests.LoadGen;

/// <summary>
/// <c>tempo bench</c> end to end through <see cref="Program.Main"/>. The console is process-wide, so every test that
/// redirects it lives in this one class (xunit runs a class's tests one at a time).
/// </summary>
public sealed class BenchCliTests
{
    [Theory]
    [InlineData("--rate", "-2")]
    [InlineData("--workload", "no-such-workload")]
    [InlineData("--url", "localhost:8000")]
    [InlineData("--endpoint", "embeddings")]
    [InlineData("--timeout", "0")]
    [InlineData("--requests", "0")]
    public void Main_BadOption_PrintsOneLineAndExits2(string option, string value)
    {
        var args = new List<string> { "bench", "--url", "http://127.0.0.1:1", "--requests", "3" };
        var at = args.IndexOf(option);
        if (at >= 0)
        {
            args[at + 1] = value;
        }
        else
        {
            args.AddRange([option, value]);
        }

        var (code, stdout, stderr) = Run([.. args]);

        Assert.Equal(2, code);
        Assert.Equal(string.Empty, stdout);
        var line = Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("tempo: error:", line, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--endpoint", "chat", "--prompt-ids")]
    [InlineData("--length-scale", "0", "--length-scale")]
    [InlineData("--slo-scale", "-1", "--slo-scale")]
    public void Main_BadIdsOrScale_NamesTheOptionAndExits2(string option, string value, string named)
    {
        var (code, stdout, stderr) = Run("bench", "--url", "http://127.0.0.1:1", "--requests", "3", "--prompt-ids", option, value);

        Assert.Equal(2, code);
        Assert.Equal(string.Empty, stdout);
        Assert.Contains(named, Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries)), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--out", "results")]
    [InlineData("--records", "records.csv")]
    public void Main_UnwritableOutput_NamesTheOptionAndExits2BeforeSending(string option, string name)
    {
        // A file stands where the folder would have to be, so the folder cannot be made; nothing listens on port 1.
        var blocker = Path.Combine(Directory.CreateTempSubdirectory("tempo-bench").FullName, "a-file");
        File.WriteAllText(blocker, "x");

        var (code, stdout, stderr) = Run("bench", "--url", "http://127.0.0.1:1", "--requests", "3", option, Path.Combine(blocker, name));

        Assert.Equal(2, code);
        Assert.Equal(string.Empty, stdout);
        Assert.StartsWith($"tempo: error: {option}: cannot write to '", Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries)), StringComparison.Ordinal);
    }

    [Fact]
    public void Main_NoUrl_PrintsOneLineAndExits2()
    {
        var (code, _, stderr) = Run("bench", "--requests", "3");

        Assert.Equal(2, code);
        Assert.Contains("--url", Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries)), StringComparison.Ordinal);
    }

    [Fact]
    public void Main_ConnectionRefused_StillPrintsResultsAndCountsErrors()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();

        var (code, stdout, stderr) = Run("bench", "--url", $"http://127.0.0.1:{port}", "--workload", "chat", "--requests", "4", "--rate", "50", "--format", "json");

        Assert.Equal(3, code);
        var run = JsonDocument.Parse(stdout).RootElement.GetProperty("runs")[0];
        Assert.Equal(4, run.GetProperty("requests").GetInt32());
        Assert.Equal(0, run.GetProperty("completed").GetInt32());
        Assert.Contains("errors: 4 connection refused", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Main_FakeServer_PrintsSimulateShapedJsonAndWritesFiles()
    {
        await using var server = await FakeOpenAiServer.StartAsync();

        // Real trace lengths (hundreds of tokens per call): stream them without pauses to keep the test short.
        server.FirstTokenDelay = TimeSpan.FromMilliseconds(1);
        server.ChunkDelay = TimeSpan.Zero;
        var dir = Path.Combine(Path.GetTempPath(), $"tempo-bench-test-{Guid.NewGuid():N}");
        try
        {
            var (code, stdout, stderr) = Run("bench", "--url", server.Url.ToString(), "--workload", "mixed", "--requests", "8", "--rate", "40", "--seed", "3", "--format", "json", "--out", dir);

            Assert.True(code == 0, stderr);
            var doc = JsonDocument.Parse(stdout).RootElement;
            Assert.Equal("tempo.bench/v1", doc.GetProperty("schema").GetString());
            Assert.Equal("mixed", doc.GetProperty("config").GetProperty("workload").GetString());
            Assert.Equal(server.Url.ToString(), doc.GetProperty("config").GetProperty("url").GetString());
            var run = doc.GetProperty("runs")[0];
            Assert.Equal("fake-model", run.GetProperty("policy").GetString());
            Assert.Equal(40, run.GetProperty("rate").GetDouble());
            var requests = run.GetProperty("requests").GetInt32();
            Assert.Equal(requests, run.GetProperty("completed").GetInt32());
            Assert.Equal(requests, server.Served.Count);
            Assert.True(run.GetProperty("service_gain").GetDouble() > 0);
            foreach (var c in new[] { "latency", "throughput", "collective" })
            {
                Assert.True(run.GetProperty("classes").TryGetProperty(c, out _));
            }

            Assert.True(File.Exists(Path.Combine(dir, "results.json")));
            Assert.True(File.Exists(Path.Combine(dir, "results.csv")));
            Assert.Contains("sent", stderr, StringComparison.Ordinal);
        }
        finally
        {
            if (Directory.Exists(dir))
            {
                Directory.Delete(dir, recursive: true);
            }
        }
    }

    [Fact]
    public async Task Main_PromptIdsAndRecords_ExactPromptLengthsAndOneRowPerWorkloadRequest()
    {
        await using var server = await FakeOpenAiServer.StartAsync();

        // 50 ms to the first token is beyond every TTFT bound cut to 1% (10-40 ms), so some verdicts are misses
        // however fast the machine is.
        server.FirstTokenDelay = TimeSpan.FromMilliseconds(50);
        server.ChunkDelay = TimeSpan.Zero;
        var dir = Path.Combine(Path.GetTempPath(), $"tempo-bench-rec-{Guid.NewGuid():N}");
        var file = Path.Combine(dir, "records.csv");
        try
        {
            var (code, stdout, stderr) = Run("bench", "--url", server.Url.ToString(), "--workload", "mixed", "--requests", "8", "--rate", "40", "--seed", "3",
                "--length-scale", "0.2", "--slo-scale", "0.01", "--prompt-ids", "--label", "tempo", "--format", "json", "--records", file);

            Assert.True(code == 0, stderr);
            var workload = WorkloadCatalog.Create("mixed", new WorkloadOptions { Requests = 8, Rate = 40, Seed = 3, LengthScale = 0.2, SloScale = 0.01 });
            var promptLengths = server.Served.Select(s => s.Body.GetProperty("prompt")).Select(p => p.EnumerateArray().Count(e => e.GetInt32() is >= 32 and < 256));
            Assert.Equal(workload.Requests.Select(r => r.PromptTokens).Order(), promptLengths.Order());

            var lines = File.ReadAllLines(file);
            Assert.Equal("policy,rate,id,class,job_id,stage,arrival_s,prompt_tokens,output_tokens,generated,ttft_s,e2e_s,max_gap_s,finish,slo_met,gain,detail", lines[0]);
            var rows = lines.Skip(1).Select(l => l.Split(',')).ToList();
            Assert.Equal(workload.Requests.Select(r => r.Id.ToString(CultureInfo.InvariantCulture)), rows.Select(r => r[2]));
            Assert.All(rows, r => Assert.Equal("tempo", r[0]));
            Assert.All(rows, r => Assert.Equal(r[8], r[9]));
            var run = JsonDocument.Parse(stdout).RootElement.GetProperty("runs")[0];
            foreach (var c in new[] { "latency", "throughput", "collective" })
            {
                Assert.Equal(run.GetProperty("classes").GetProperty(c).GetProperty("slo_met").GetInt32(), rows.Count(r => r[3] == c && r[14] == "1"));
            }

            // SLOs cut to 1% cannot all be met, so the counts above compare real verdicts, not a column of ones.
            Assert.Contains(rows, r => r[14] == "0");
        }
        finally
        {
            if (Directory.Exists(dir))
            {
                Directory.Delete(dir, recursive: true);
            }
        }
    }

    private static (int Code, string Stdout, string Stderr) Run(params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var oldOut = Console.Out;
        var oldErr = Console.Error;
        Console.SetOut(stdout);
        Console.SetError(stderr);
        try
        {
            var code = Program.Main(args);
            return (code, stdout.ToString(), stderr.ToString().Replace("\r", string.Empty, StringComparison.Ordinal));
        }
        finally
        {
            Console.SetOut(oldOut);
            Console.SetError(oldErr);
        }
    }
}
