using Tempo.Llama;
using Tempo.Simulation.Profiles;

namespace Tempo.Cli.Tests;

[Collection("console")]
public sealed class CalibrateCommandTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("tempo-calibrate").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Calibrate_TinyModel_WritesAProfileThatSimulateLoads()
    {
        var model = Path.Combine(_dir, "tiny.gguf");
        GgufModelWriter.Write(model, new GgufModelOptions { Layers = 2, Embedding = 64, Vocabulary = 512, Context = 512, Heads = 4, Seed = 3 });
        var profilePath = Path.Combine(_dir, "tiny.json");
        var report = Path.Combine(_dir, "points.csv");

        var (exit, stdout, stderr) = CliRunner.Run("calibrate", "--model", model, "--out", profilePath, "--ctx-size", "512", "--max-batch", "4", "--token-budget", "64", "--threads", "1", "--quick", "--repeats", "3", "--warmup", "0", "--report", report);

        Assert.True(exit == 0, stderr);
        Assert.Contains("fit error", stdout);
        Assert.Contains("[1/", stderr);
        var profile = CostProfile.Load(profilePath);
        Assert.Equal("tiny-cpu", profile.Name);
        Assert.Equal(1, profile.NumLayers);
        Assert.Equal(512 / 16, profile.KvGpuBlocks);
        Assert.True(profile.FixedMs + profile.LinearMs[^1][1] > 0);
        Assert.Contains("held-out", profile.Calibration);
        var rows = File.ReadAllLines(report);
        Assert.StartsWith("kind,label,", rows[0], StringComparison.Ordinal);
        Assert.Contains(rows, r => r.StartsWith("mixed,", StringComparison.Ordinal));

        var sim = CliRunner.Run("simulate", "--profile", profilePath, "--max-batch", "4", "--token-budget", "64", "--requests", "20", "--length-scale", "0.05", "--policies", "sarathi", "--predictor", "fixed", "--format", "csv");
        Assert.True(sim.Exit == 0, sim.Err);
    }

    [Theory]
    [InlineData("--repeats", "2", "--repeats must be at least 3")]
    [InlineData("--kv-layout", "striped", "unknown layout 'striped'")]
    public void Calibrate_BadOption_OneLineErrorAndExitCode2(string option, string value, string expected)
    {
        var model = Path.Combine(_dir, "absent.gguf");

        var (exit, _, stderr) = CliRunner.Run("calibrate", "--model", model, "--out", Path.Combine(_dir, "p.json"), option, value);

        Assert.Equal(2, exit);
        Assert.Contains(expected, stderr);
    }

    [Fact]
    public void Calibrate_MissingModel_ExitCode2()
    {
        var (exit, _, stderr) = CliRunner.Run("calibrate", "--model", Path.Combine(_dir, "absent.gguf"), "--out", Path.Combine(_dir, "p.json"));

        Assert.Equal(2, exit);
        Assert.Contains("model file not found", stderr);
    }

    [Theory]
    [InlineData(new[] { "fidelity", "--profile", "llama3.1-8b-a100" }, "nothing to compare")]
    [InlineData(new[] { "fidelity", "--profile", "llama3.1-8b-a100", "--real", "a.csv" }, "go together")]
    [InlineData(new[] { "fidelity", "--profile", "llama3.1-8b-a100", "--steps", "absent.jsonl" }, "no file")]
    public void Fidelity_BadArguments_ExitCode2(string[] args, string expected)
    {
        var (exit, _, stderr) = CliRunner.Run(args);

        Assert.Equal(2, exit);
        Assert.Contains(expected, stderr);
    }
}
