using System.Globalization;
using System.Text.Json;

using Tempo.Workloads;

namespace Tempo.Cli.Tests;

[Collection("console")]
public class RecordsAndScaleTests
{
    private static readonly string[] Columns =
    [
        "policy", "rate", "id", "class", "job_id", "stage", "arrival_s", "prompt_tokens", "output_tokens", "generated",
        "ttft_s", "e2e_s", "max_gap_s", "finish", "slo_met", "gain", "detail",
    ];

    [Theory]
    [InlineData("--length-scale", "0", "--length-scale must be a positive number")]
    [InlineData("--length-scale", "-2", "--length-scale must be a positive number")]
    [InlineData("--slo-scale", "NaN", "--slo-scale must be a positive number")]
    [InlineData("--slo-scale", "Infinity", "--slo-scale must be a positive number")]
    [InlineData("--slo-scale", "fast", "fast")]
    [InlineData("--cost-bias", "0", "--cost-bias must be a positive number")]
    [InlineData("--cost-bias", "-1.3", "--cost-bias must be a positive number")]
    public void Simulate_InvalidScale_OneLineErrorAndExitCode2(string option, string value, string expected)
    {
        var (exit, stdout, stderr) = CliRunner.Run("simulate", "--requests", "10", "--predictor", "fixed", option, value);

        Assert.Equal(2, exit);
        Assert.Equal(string.Empty, stdout);
        var line = Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("tempo: error:", line, StringComparison.Ordinal);
        Assert.Contains(expected, line, StringComparison.Ordinal);
    }

    [Fact]
    public void Simulate_ShedUnattainable_TempoShedsUnderOverload_SarathiDoesNot_AndTheShedCountAsMissed()
    {
        var file = Path.Combine(Directory.CreateTempSubdirectory("tempo-rec").FullName, "records.csv");

        var (exit, stdout, stderr) = CliRunner.Run("simulate", "--requests", "80", "--predictor", "fixed", "--policies", "sarathi,tempo", "--rates", "12",
            "--seed", "4", "--slo-scale", "0.5", "--shed-unattainable", "--format", "json", "--records", file);

        Assert.True(exit == 0, stderr);
        var doc = JsonDocument.Parse(stdout).RootElement;
        Assert.Equal("true", doc.GetProperty("config").GetProperty("shed_unattainable").GetString());
        var (_, rows) = RecordsCsvReader.Read(file);
        var shed = rows.Where(r => r["detail"].StartsWith("slo_unattainable", StringComparison.Ordinal)).ToList();
        Assert.NotEmpty(shed);
        Assert.All(shed, r => Assert.Equal("tempo", r["policy"]));
        Assert.All(shed, r => Assert.Equal("0", r["slo_met"]));
    }

    [Fact]
    public void Simulate_RecordsIsAFolder_ExitCode2BeforeRunning()
    {
        var dir = Directory.CreateTempSubdirectory("tempo-rec").FullName;

        var (exit, _, stderr) = CliRunner.Run("simulate", "--requests", "10", "--predictor", "fixed", "--records", dir);

        Assert.Equal(2, exit);
        Assert.Contains("is a folder", stderr, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--records", "records.csv")]
    [InlineData("--out", "results")]
    public void Simulate_UnwritableOutput_ExitCode2BeforeRunning(string option, string name)
    {
        // A file stands where the folder would have to be: no user, root included, can create the folder there.
        var blocker = Path.Combine(Directory.CreateTempSubdirectory("tempo-rec").FullName, "a-file");
        File.WriteAllText(blocker, "x");

        var (exit, stdout, stderr) = CliRunner.Run("simulate", "--requests", "10", "--predictor", "fixed", option, Path.Combine(blocker, name));

        Assert.Equal(2, exit);
        Assert.Equal(string.Empty, stdout);
        var line = Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith($"tempo: error: {option}: cannot write to '", line, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--out", "   ", "--out needs a folder name")]
    [InlineData("--records", "   ", "--records needs a file name")]
    [InlineData("--out", "bad\0name", "--out: cannot write to")]
    [InlineData("--records", "bad\0dir/records.csv", "--records: cannot write to")]
    public void Simulate_ImpossibleOutputPath_OneLineErrorBeforeRunning(string option, string value, string expected)
    {
        var (exit, stdout, stderr) = CliRunner.Run("simulate", "--requests", "10", "--predictor", "fixed", option, value);

        Assert.Equal(2, exit);
        Assert.Equal(string.Empty, stdout);
        Assert.Contains(expected, Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries)), StringComparison.Ordinal);
    }

    [Fact]
    public void Simulate_WritableOutput_LeavesNoWriteCheckFileBehind()
    {
        var dir = Path.Combine(Directory.CreateTempSubdirectory("tempo-rec").FullName, "new", "results");

        var (exit, _, stderr) = CliRunner.Run("simulate", "--requests", "10", "--predictor", "fixed", "--policies", "tempo", "--rates", "2", "--out", dir,
            "--records", Path.Combine(dir, "records.csv"));

        Assert.True(exit == 0, stderr);
        Assert.Contains(Path.Combine(dir, "records.csv"), Directory.GetFiles(dir));
        Assert.DoesNotContain(Directory.GetFiles(dir), f => Path.GetFileName(f).StartsWith('.'));
    }

    [Fact]
    public void Simulate_Records_OneRowPerRequestWithWorkloadIdsAndTheRunsSloCounts()
    {
        var file = Path.Combine(Directory.CreateTempSubdirectory("tempo-rec").FullName, "sub", "records.csv");

        var (exit, stdout, stderr) = CliRunner.Run("simulate", "--requests", "60", "--predictor", "fixed", "--policies", "sarathi,tempo", "--rates", "3,9",
            "--seed", "4", "--length-scale", "0.5", "--slo-scale", "0.5", "--format", "json", "--records", file);

        Assert.True(exit == 0, stderr);
        var (header, rows) = RecordsCsvReader.Read(file);
        Assert.Equal(Columns, header);
        var runs = JsonDocument.Parse(stdout).RootElement.GetProperty("runs").EnumerateArray().ToList();
        Assert.Equal(runs.Sum(r => r.GetProperty("requests").GetInt32()), rows.Count);
        Assert.Contains($"wrote {rows.Count} request records", stderr, StringComparison.Ordinal);
        Assert.DoesNotContain(Directory.GetFiles(Path.GetDirectoryName(file)!), f => Path.GetFileName(f).StartsWith('.'));

        var someMissed = false;
        foreach (var run in runs)
        {
            var policy = run.GetProperty("policy").GetString();
            var rate = run.GetProperty("rate").GetDouble();
            var mine = rows.Where(r => r["policy"] == policy && double.Parse(r["rate"], CultureInfo.InvariantCulture) == rate).ToList();
            var workload = WorkloadCatalog.Create("mixed", new WorkloadOptions { Requests = 60, Rate = rate, Seed = 4, LengthScale = 0.5, SloScale = 0.5 });
            Assert.Equal(workload.Requests.Select(r => r.Id.ToString(CultureInfo.InvariantCulture)), mine.Select(r => r["id"]));
            Assert.Equal(workload.Requests.Select(r => r.PromptTokens.ToString(CultureInfo.InvariantCulture)), mine.Select(r => r["prompt_tokens"]));
            foreach (var cls in new[] { "latency", "throughput", "collective" })
            {
                var expected = run.GetProperty("classes").GetProperty(cls);
                var ofClass = mine.Where(r => r["class"] == cls).ToList();
                Assert.Equal(expected.GetProperty("requests").GetInt32(), ofClass.Count);
                Assert.Equal(expected.GetProperty("slo_met").GetInt32(), ofClass.Count(r => r["slo_met"] == "1"));
                Assert.Equal(expected.GetProperty("service_gain").GetDouble(), ofClass.Sum(r => double.Parse(r["gain"], CultureInfo.InvariantCulture)), 6);
                someMissed |= ofClass.Any(r => r["slo_met"] == "0");
            }

            Assert.All(mine.Where(r => r["class"] == "collective"), r => Assert.NotEqual(string.Empty, r["job_id"]));
            Assert.All(mine.Where(r => r["class"] != "collective"), r => Assert.Equal(string.Empty, r["job_id"]));
        }

        // Halved SLOs at 9/s must miss some: otherwise the counts above would hold for any all-ones column.
        Assert.True(someMissed);
    }

    [Fact]
    public void Simulate_LengthScale_ShortensTheRunsTokens()
    {
        string[] args = ["simulate", "--requests", "40", "--predictor", "fixed", "--policies", "sarathi", "--rates", "4", "--format", "json"];

        var full = JsonDocument.Parse(CliRunner.Run(args).Out).RootElement;
        var half = JsonDocument.Parse(CliRunner.Run([.. args, "--length-scale", "0.5"]).Out).RootElement;

        Assert.Equal("0.5", half.GetProperty("config").GetProperty("length_scale").GetString());
        var fullDecode = full.GetProperty("runs")[0].GetProperty("engine").GetProperty("decode_tokens").GetInt64();
        var halfDecode = half.GetProperty("runs")[0].GetProperty("engine").GetProperty("decode_tokens").GetInt64();
        Assert.InRange(halfDecode, fullDecode * 0.45, fullDecode * 0.55);
    }
}
