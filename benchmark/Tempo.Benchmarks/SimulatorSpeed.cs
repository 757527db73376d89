using System.Globalization;

using Tempo.Core;
using Tempo.Scheduling;
using Tempo.Simulation;
using Tempo.Simulation.Profiles;
using Tempo.Workloads;

namespace Tempo.Benchmarks;

/// <summary>
/// Wall time and simulated engine steps per second of a 3,000-arrival mixed run, per policy (best of 5), and the
/// bytes the simulation allocates per engine step. Policy names after the command limit the run to those policies
/// (for profiling one of them), with <c>tempo</c>'s re-plan settings as <see cref="PolicyVariant"/> reads them.
/// </summary>
internal static class SimulatorSpeed
{
    public static void Run(IReadOnlyList<string> policies, TextWriter output)
    {
        var profile = CostProfile.Default;
        var workload = WorkloadCatalog.Create("mixed", new WorkloadOptions { Requests = 3000, Seed = 42, Rate = 6 });
        var graphs = JobGraphs.FromRequests(workload.Requests);
        output.WriteLine($"workload: {workload.Name}, {workload.Requests.Count} requests");
        output.WriteLine("| policy | steps | best wall s | steps/s | requests/s | alloc B/step | alloc MB/run |");
        output.WriteLine("|---|---|---|---|---|---|---|");
        var runs = policies.Count == 0 ? PolicyRegistry.All.Select(p => p.Name).ToList() : policies;
        foreach (var policy in runs)
        {
            var (info, select) = PolicyVariant.Parse(policy);

            var best = double.MaxValue;
            long steps = 0;
            long bytes = 0;
            for (var i = 0; i < 5; i++)
            {
                var config = profile.ToEngineConfig(32, info.DefaultTokenBudget);
                var scheduler = info.Create(new SchedulerOptions { Engine = config, Seed = 42, TrueJobGraphs = graphs, SelectEdf = select });
                var before = GC.GetAllocatedBytesForCurrentThread();
                var result = SimulationDriver.Run(workload, config, scheduler, new CostModel(profile));
                var afterRun = GC.GetAllocatedBytesForCurrentThread();

                // Run also computes the metrics, which its wall time excludes; computing them again gives their
                // allocations so they can be taken out and the figure covers what the wall time covers.
                _ = RunMetrics.Compute(result.Records, GainWeights.Paper);
                var metrics = GC.GetAllocatedBytesForCurrentThread() - afterRun;
                best = Math.Min(best, result.WallS);
                steps = result.Stats.Steps;

                // The last run's figure: by then nothing is left to JIT or initialise lazily.
                bytes = afterRun - before - metrics;
            }

            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {policy} | {steps:N0} | {best:0.000} | {steps / best:N0} | {workload.Requests.Count / best:N0} | {bytes / (double)steps:N0} | {bytes / 1e6:0.0} |"));
        }
    }
}
