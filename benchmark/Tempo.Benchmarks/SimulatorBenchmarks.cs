using BenchmarkDotNet.Attributes;

using Tempo.Scheduling;
using Tempo.Simulation;
using Tempo.Simulation.Profiles;
using Tempo.Workloads;

namespace Tempo.Benchmarks;

/// <summary>Whole simulations: a 3,000-arrival mixed run at 6/s on the default profile, per policy.</summary>
[MemoryDiagnoser]
public class SimulatorBenchmarks
{
    private Workload _workload = null!;
    private CostProfile _profile = null!;

    /// <summary>Policy under test.</summary>
    [Params("sarathi", "tempo", "jitserve")]
    public string Policy { get; set; } = "sarathi";

    /// <summary>Generates the workload once.</summary>
    [GlobalSetup]
    public void Setup()
    {
        _profile = CostProfile.Default;
        _workload = WorkloadCatalog.Create("mixed", new WorkloadOptions { Requests = 3000, Seed = 42, Rate = 6 });
    }

    /// <summary>One full run; the result carries steps for steps/s.</summary>
    [Benchmark]
    public long Run()
    {
        var info = PolicyRegistry.Get(Policy);
        var config = _profile.ToEngineConfig(32, info.DefaultTokenBudget);
        var scheduler = info.Create(new SchedulerOptions { Engine = config, Seed = 42 });
        return SimulationDriver.Run(_workload, config, scheduler, new CostModel(_profile)).Stats.Steps;
    }
}
