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

    [Fact]
    public void Calibrate_FromSteps_FitsTheLoggedStepsAndKeepsTheBaseLimits()
    {
        // A step log priced by a known CPU-like profile: the in-situ fit must reproduce it.
        var truth = CostProfile.Default with
        {
            Name = "truth",
            NumLayers = 1,
            LinearMs = [[1, 0], [2, 0.5], [4, 1.2], [8, 2.0], [16, 3.5], [32, 6.5], [64, 12], [128, 23], [256, 45]],
            DecodeAttnAMs = 0,
            DecodeAttnBMs = 0.002,
            GqaBatchFactor = 1,
            PrefillAttnAMs = 0,
            PrefillAttnBetaMs = 0,
            PrefillAttnGMs = 1e-5,
            FixedMs = 2,
            OutputMs = 0.1,
            KvGpuBlocks = 512,
            MaxModelLen = 1024,
        };
        var model = new CostModel(truth);
        var lines = new List<string>();
        var random = new Random(5);
        for (var i = 0; i < 400; i++)
        {
            var decodes = random.Next(0, 9);
            var work = Enumerable.Range(0, decodes).Select(_ => Engine.WorkShape.Decode(random.Next(10, 900))).ToList();
            if (decodes < 8 && random.Next(2) == 0)
            {
                work.Add(Engine.WorkShape.Prefill(random.Next(1, 256 - decodes), random.Next(0, 500), random.Next(2) == 0));
            }

            if (work.Count > 0)
            {
                var ms = model.ShapeTimeS([.. work], 0) * 1000;
                var shapes = string.Join(",", work.Select(w => $"[{w.Tokens},{w.ContextBefore},{(w.IsDecode ? 1 : 0)},{(w.ProducesToken ? 1 : 0)}]"));
                lines.Add(FormattableString.Invariant($"{{\"at_s\":{i},\"ms\":{ms},\"swap_blocks\":0,\"work\":[{shapes}]}}"));
            }
        }

        var log = Path.Combine(_dir, "steps.jsonl");
        File.WriteAllLines(log, lines);
        var basePath = Path.Combine(_dir, "base.json");
        truth.Save(basePath);
        var outPath = Path.Combine(_dir, "insitu.json");

        var (exit, stdout, stderr) = CliRunner.Run("calibrate", "--from-steps", log, "--base", basePath, "--out", outPath);

        Assert.True(exit == 0, stderr);
        Assert.Contains("fit error", stdout);
        var fitted = CostProfile.Load(outPath);
        Assert.Equal("truth-insitu", fitted.Name);
        Assert.Equal(512, fitted.KvGpuBlocks);
        Assert.Equal(1024, fitted.MaxModelLen);
        Assert.Equal(truth.DecodeAttnBMs, fitted.DecodeAttnBMs, 1e-6);
        Assert.Equal(truth.PrefillAttnGMs, fitted.PrefillAttnGMs, 1e-8);
        Assert.Equal(truth.FixedMs, fitted.FixedMs, 1e-3);

        var noBase = CliRunner.Run("calibrate", "--from-steps", log, "--out", outPath);
        Assert.Equal(2, noBase.Exit);
        Assert.Contains("--base", noBase.Err);
        var both = CliRunner.Run("calibrate", "--from-steps", log, "--base", basePath, "--model", "m.gguf", "--out", outPath);
        Assert.Equal(2, both.Exit);
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

    [Fact]
    public void PredictorTrain_LengthScale_TrainsOnTheScaledWorkload()
    {
        var model = Path.Combine(_dir, "scaled.qrf");

        var (exit, _, stderr) = CliRunner.Run("predictor", "train", "--data", "mixed", "--requests", "200", "--trees", "5", "--length-scale", "0.25", "--out", model);

        Assert.True(exit == 0, stderr);
        Assert.True(File.Exists(model));
        var bad = CliRunner.Run("predictor", "train", "--data", "mixed", "--length-scale", "0", "--out", model);
        Assert.Equal(2, bad.Exit);
        Assert.Contains("--length-scale", bad.Err);
    }

    [Theory]
    [InlineData(new[] { "serve", "--engine", "sim", "--predictor", "qrf" }, "needs --predictor-model")]
    [InlineData(new[] { "serve", "--engine", "sim", "--predictor", "oracle" }, "cannot see true response lengths")]
    [InlineData(new[] { "serve", "--engine", "sim", "--predictor-model", "m.qrf" }, "only used with --predictor qrf")]
    [InlineData(new[] { "serve", "--engine", "sim", "--policy", "sarathi", "--shed-unattainable" }, "does not judge whether an SLO can still be met")]
    [InlineData(new[] { "serve", "--engine", "sim", "--predictor", "qrf", "--predictor-model", "absent.qrf" }, "absent.qrf")]
    [InlineData(new[] { "serve", "--engine", "sim", "--tempo-without", "gap-chunk" }, "unknown mechanism 'gap-chunk'")]
    [InlineData(new[] { "serve", "--engine", "sim", "--tempo-gap-margin", "-2" }, "tempo options")]
    public void Serve_BadPredictor_ExitCode2BeforeServing(string[] args, string expected)
    {
        var (exit, _, stderr) = CliRunner.Run(args);

        Assert.Equal(2, exit);
        Assert.Contains(expected, stderr);
    }

    [Theory]
    [InlineData(new[] { "gateway" }, "at least one backend")]
    [InlineData(new[] { "gateway", "--backend", "http://127.0.0.1:1", "--policy", "random" }, "unknown router 'random'")]
    [InlineData(new[] { "gateway", "--backends-file", "absent.txt" }, "does not exist")]
    [InlineData(new[] { "plan", "--rate", "0" }, "--rate must be a positive number")]
    [InlineData(new[] { "plan", "--rate", "4", "--target-attainment", "1.5" }, "--target-attainment must be in (0, 1]")]
    [InlineData(new[] { "plan", "--rate", "4", "--routers", "random" }, "unknown router 'random'")]
    [InlineData(new[] { "simulate", "--replicas", "0" }, "--replicas must be positive")]
    public void GatewayAndPlan_BadArguments_ExitCode2(string[] args, string expected)
    {
        var (exit, _, stderr) = CliRunner.Run(args);

        Assert.Equal(2, exit);
        Assert.Contains(expected, stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void Plan_SmallFleet_JsonRecordsForEveryPairAndTheReference()
    {
        var (exit, stdout, stderr) = CliRunner.Run("plan", "--workload", "mixed", "--rate", "6", "--requests", "60", "--predictor", "fixed",
            "--policies", "tempo", "--routers", "tempo", "--max-replicas", "8", "--format", "json");

        Assert.True(exit == 0, stderr);
        var records = System.Text.Json.JsonDocument.Parse(stdout).RootElement.EnumerateArray().ToList();
        Assert.Equal(["tempo/tempo", "sarathi/round-robin"], records.Select(r => $"{r.GetProperty("policy").GetString()}/{r.GetProperty("router").GetString()}"));
        Assert.All(records, r => Assert.True(r.GetProperty("attainment").GetDouble() >= 0.9 || r.GetProperty("replicas").ValueKind == System.Text.Json.JsonValueKind.Null));
        Assert.Equal(0, records[1].GetProperty("saving_vs_sarathi_round_robin").GetDouble());
        Assert.Contains("replica", stderr, StringComparison.Ordinal);
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
