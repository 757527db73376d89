using System.Globalization;

using Tempo.Scheduling;
using Tempo.Simulation;
using Tempo.Simulation.Profiles;
using Tempo.Simulation.Workloads;

namespace Tempo.Benchmarks;

/// <summary>Wall time and simulated engine steps per second of a 3,000-arrival mixed run, per policy (best of 5).</summary>
internal static class SimulatorSpeed
{
    public static void Run(TextWriter output)
    {
        var profile = CostProfile.Default;
        var workload = WorkloadCatalog.Create("mixed", new WorkloadOptions { Requests = 3000, Seed = 42, Rate = 6 });
        output.WriteLine($"workload: {workload.Name}, {workload.Requests.Count} requests");
        output.WriteLine("| policy | steps | best wall s | steps/s | requests/s |");
        output.WriteLine("|---|---|---|---|---|");
        foreach (var info in PolicyRegistry.All)
        {
            var best = double.MaxValue;
            long steps = 0;
            for (var i = 0; i < 5; i++)
            {
                var config = profile.ToEngineConfig(32, info.DefaultTokenBudget);
                var scheduler = info.Create(new SchedulerOptions { Engine = config, Seed = 42 });
                var result = SimulationDriver.Run(workload, config, scheduler, new CostModel(profile));
                best = Math.Min(best, result.WallS);
                steps = result.Stats.Steps;
            }

            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {info.Name} | {steps:N0} | {best:0.000} | {steps / best:N0} | {workload.Requests.Count / best:N0} |"));
        }
    }
}
