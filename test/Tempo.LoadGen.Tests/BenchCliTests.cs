using System.Net;
using System.Net.Sockets;
using System.Text.Json;

using Tempo.Cli;

namespace Tempo.LoadGen.Tests;

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
