using Tempo.Core;
using Tempo.Engine;
using Tempo.Scheduling;
using Tempo.Simulation.Profiles;

namespace Tempo.Cli.Tests;

public sealed class ReplayCommandTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("tempo-replay-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Replay_ATraceOfThePolicy_MatchesEveryStep_AndWritesTheEngineSideRecords()
    {
        var trace = WriteTrace("sarathi");
        var records = Path.Combine(_dir, "replay.csv");

        var (exit, stdout, stderr) = CliRunner.Run("replay", "--trace", trace, "--records", records);

        Assert.True(exit == 0, stderr);
        var steps = StepTrace.Read(trace).Events.Count(e => e is TraceStep);
        Assert.Contains($"policy sarathi: {steps} of {steps} steps planned exactly", stdout);
        Assert.Contains("engine-side figures of the replayed run: 30 requests", stdout);
        Assert.Equal(31, File.ReadAllLines(records).Length);
    }

    [Fact]
    public void Replay_WithAnotherPolicy_ReportsTheFirstDivergence()
    {
        var (exit, stdout, stderr) = CliRunner.Run("replay", "--trace", WriteTrace("sarathi"), "--policy", "tempo");

        Assert.True(exit == 0, stderr);
        Assert.Contains("first divergence: step ", stdout);
        Assert.Contains("live before the plan", stdout);
    }

    [Fact]
    public void Replay_WithAProfile_ModelsOnlyTheStepTimes()
    {
        var (exit, stdout, stderr) = CliRunner.Run("replay", "--trace", WriteTrace("edf"), "--profile", CostProfile.DefaultName);

        Assert.True(exit == 0, stderr);
        Assert.Contains("with step times from profile", stdout);
        Assert.Contains("engine-side figures of the replayed run: 30 requests", stdout);
    }

    [Fact]
    public void Replay_BadInput_OneLineErrorAndExitCode2()
    {
        var plainLog = Path.Combine(_dir, "plain.jsonl");
        File.WriteAllText(plainLog, "{\"at_s\":0,\"ms\":1,\"swap_blocks\":0,\"work\":[[4,0,0,1]]}\n");

        var missing = CliRunner.Run("replay", "--trace", Path.Combine(_dir, "absent.jsonl"));
        var noHeader = CliRunner.Run("replay", "--trace", plainLog);
        var badPolicy = CliRunner.Run("replay", "--trace", WriteTrace("edf"), "--policy", "nope");

        Assert.Equal(2, missing.Exit);
        Assert.Contains("no file", missing.Err);
        Assert.Equal(2, noHeader.Exit);
        Assert.Contains("header", noHeader.Err);
        Assert.Equal(2, badPolicy.Exit);
        Assert.Contains("nope", badPolicy.Err);
    }

    [Fact]
    public void CalibrateFromSteps_OfATrace_TakesTheEngineLimitsFromItsHeader()
    {
        var trace = WriteTrace("sarathi");
        var outPath = Path.Combine(_dir, "insample.json");

        var (exit, _, stderr) = CliRunner.Run("calibrate", "--from-steps", trace, "--base", CostProfile.DefaultName, "--out", outPath);

        Assert.True(exit == 0, stderr);
        var fitted = CostProfile.Load(outPath);
        Assert.Equal(Engine.GpuBlocks, fitted.KvGpuBlocks);
        Assert.Equal(Engine.CpuBlocks, fitted.KvCpuBlocks);
        Assert.Equal(Engine.MaxModelLen, fitted.MaxModelLen);
        Assert.Contains("the server's trace header", fitted.Calibration);
    }

    private static readonly EngineConfig Engine = new() { MaxBatch = 4, TokenBudget = 128, GpuBlocks = 300, CpuBlocks = 40, MaxModelLen = 2048 };

    /// <summary>A trace of 30 requests run by <paramref name="policy"/> on the default profile's costs.</summary>
    private string WriteTrace(string policy)
    {
        var path = Path.Combine(_dir, $"trace-{policy}-{Guid.NewGuid():N}.jsonl");
        var clock = new VirtualClock();
        var log = new StepLogExecutor(new CostModel(CostProfile.Default).CreateExecutor(clock), clock, new StreamWriter(path));
        var engine = new EngineCore(Engine, PolicyRegistry.Get(policy).Create(new SchedulerOptions { Engine = Engine }), log, clock);
        log.Attach(engine);
        for (var i = 0; i < 30; i++)
        {
            clock.AdvanceTo(i * 0.05);
            var cls = i % 2 == 0 ? RequestClass.Latency : RequestClass.Throughput;
            engine.Submit(Specs.Make(i + 1, 40 + (i * 7), 10 + (i % 5 * 6), cls, clock.NowS, new Slo(0.5, 0.05, 2 + (i % 3))));
            engine.Step();
        }

        while (engine.HasWork)
        {
            engine.Step();
        }

        log.Dispose();
        return path;
    }
}
