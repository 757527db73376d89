using System.Text.Json;

using Tempo.Scheduling;

namespace Tempo.Cli.Tests;

[Collection("console")]
public class SimulateCommandTests
{
    private static readonly string[] Fast = ["--requests", "40", "--predictor", "fixed"];

    private static readonly string[] FastAnySize = ["--predictor", "fixed"];

    [Theory]
    [InlineData("--policies", "nope", "unknown policy 'nope'")]
    [InlineData("--rates", "-1", "must be positive")]
    [InlineData("--rates", "abc", "not a number")]
    [InlineData("--max-batch", "0", "--max-batch must be positive")]
    [InlineData("--profile", "h200-imaginary", "h200-imaginary")]
    [InlineData("--workload", "no-such-workload", "unknown workload")]
    [InlineData("--format", "xml", "unknown format")]
    [InlineData("--requests", "0", "--requests must be positive")]
    [InlineData("--max-batch", "many", "many")]
    [InlineData("--tempo-replan-steps", "0", "re-plan interval at least one step")]
    [InlineData("--tempo-replan-steps", "-4", "re-plan interval at least one step")]
    [InlineData("--tempo-replan-steps", "99999999999", "99999999999")]
    [InlineData("--tempo-replan-steps", "four", "four")]
    [InlineData("--tempo-without", "keep-places", "unknown mechanism 'keep-places'")]
    [InlineData("--step-noise", "-0.1", "--step-noise must be a coefficient of variation")]
    [InlineData("--step-noise", "NaN", "--step-noise must be a coefficient of variation")]
    [InlineData("--tempo-gap-margin", "-1", "tempo options")]
    [InlineData("--tempo-replan-drift", "-0.1", "re-plan drift must be a finite non-negative fraction")]
    [InlineData("--tempo-replan-drift", "NaN", "re-plan drift must be a finite non-negative fraction")]
    [InlineData("--tempo-full-replan-every", "0", "full re-plan period at least one re-plan")]
    [InlineData("--tempo-replan-drift", "1e400", "re-plan drift must be a finite non-negative fraction")]
    [InlineData("--tempo-replan-drift", "ten", "ten")]
    [InlineData("--tempo-full-replan-every", "99999999999", "99999999999")]
    [InlineData("--tempo-full-replan-every", "-3", "full re-plan period at least one re-plan")]
    public void Simulate_ImpossibleOption_OneLineErrorAndExitCode2(string option, string value, string expected)
    {
        var (exit, stdout, stderr) = CliRunner.Run(["simulate", .. (option == "--requests" ? FastAnySize : Fast), option, value]);

        Assert.Equal(2, exit);
        Assert.Equal(string.Empty, stdout);
        var line = Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("tempo: error:", line);
        Assert.Contains(expected, line);
    }

    [Fact]
    public void Simulate_MalformedWorkloadFile_NamesTheLineAndWritesNothing()
    {
        var dir = Directory.CreateTempSubdirectory("tempo-cli");
        var file = Path.Combine(dir.FullName, "bad.jsonl");
        File.WriteAllLines(file, ["{\"arrival_s\":0,\"class\":\"latency\",\"prompt_tokens\":10,\"output_tokens\":5}", "{not json"]);
        var outDir = Path.Combine(dir.FullName, "out");

        var (exit, _, stderr) = CliRunner.Run(["simulate", "--workload", file, "--out", outDir, .. Fast]);

        Assert.Equal(2, exit);
        Assert.Contains("line 2", stderr);
        Assert.False(Directory.Exists(outDir));
        Assert.Empty(Directory.GetDirectories(dir.FullName));
    }

    [Fact]
    public void Simulate_FormatJson_EveryRegisteredPolicyAtEveryRate()
    {
        var (exit, stdout, _) = CliRunner.Run(["simulate", "--format", "json", "--rates", "2,5", .. Fast]);

        Assert.Equal(0, exit);
        using var doc = JsonDocument.Parse(stdout);
        Assert.Equal("tempo.simulate/v1", doc.RootElement.GetProperty("schema").GetString());
        var runs = doc.RootElement.GetProperty("runs").EnumerateArray().ToList();
        Assert.Equal(PolicyRegistry.All.Count * 2, runs.Count);
        foreach (var policy in PolicyRegistry.All)
        {
            Assert.Equal([2.0, 5.0], runs.Where(r => r.GetProperty("policy").GetString() == policy.Name).Select(r => r.GetProperty("rate").GetDouble()).Order());
        }

        var first = runs[0];
        Assert.InRange(first.GetProperty("attainment").GetDouble(), 0, 1);
        foreach (var cls in new[] { "latency", "throughput", "collective" })
        {
            Assert.True(first.GetProperty("classes").GetProperty(cls).GetProperty("requests").GetInt32() > 0);
        }
    }

    [Fact]
    public void Simulate_SameSeed_SameJsonApartFromWallTime()
    {
        string[] args = ["simulate", "--format", "json", "--policies", "sarathi,tempo,edf", "--rates", "6", "--seed", "7", .. Fast];

        var a = StripWall(CliRunner.Run(args).Out);
        var b = StripWall(CliRunner.Run(args).Out);

        Assert.Equal(a, b);
    }

    [Fact]
    public void Simulate_StepNoise_ChangesTheRun_AndTheSameSeedRepeatsIt()
    {
        string[] args = ["simulate", "--format", "json", "--policies", "sarathi", "--rates", "6", "--seed", "7", .. Fast];

        var exact = StripWall(CliRunner.Run(args).Out);
        var noisy = StripWall(CliRunner.Run([.. args, "--step-noise", "0.3"]).Out);
        var again = StripWall(CliRunner.Run([.. args, "--step-noise", "0.3"]).Out);
        var otherSeed = StripWall(CliRunner.Run([.. args[..^6], "--seed", "8", .. Fast, "--step-noise", "0.3"]).Out);

        Assert.NotEqual(exact, noisy);
        Assert.Equal(noisy, again);
        Assert.Contains("\"step_noise\": \"0.3\"", noisy);
        Assert.NotEqual(noisy, otherSeed);
    }

    [Fact]
    public void Simulate_OutDir_WritesJsonCsvAndPlots()
    {
        var dir = Path.Combine(Directory.CreateTempSubdirectory("tempo-cli").FullName, "results");

        var (exit, _, stderr) = CliRunner.Run(["simulate", "--policies", "sarathi,tempo", "--rates", "3,6", "--out", dir, "--format", "csv", .. Fast]);

        Assert.Equal(0, exit);
        Assert.Contains("wrote", stderr);
        Assert.Equal(["attainment.png", "goodput.png", "results.csv", "results.json"], Directory.GetFiles(dir).Select(Path.GetFileName).Order());
        Assert.Equal(5, File.ReadAllLines(Path.Combine(dir, "results.csv")).Length);
        Assert.True(new FileInfo(Path.Combine(dir, "goodput.png")).Length > 1000);
    }

    private static string StripWall(string json) =>
        string.Join('\n', json.Split('\n').Where(l => !l.Contains("\"wall_s\"")));
}

[CollectionDefinition("console", DisableParallelization = true)]
public sealed class ConsoleTests;
