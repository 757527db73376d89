using System.Diagnostics;
using System.Globalization;

using Tempo.Core;
using Tempo.Engine;
using Tempo.Scheduling;
using Tempo.Scheduling.Prediction;
using Tempo.Simulation.Profiles;
using Tempo.Workloads;

namespace Tempo.Benchmarks;

/// <summary>
/// Scheduler decision time inside real engine steps: the engine moves (tokens are generated, requests finish, step
/// costs are measured), and every request that ends is replaced by a new arrival, so the live count stays at what the
/// row says. <see cref="DecisionLatency"/> replans an engine that does not move, which a scheduler that caches
/// anything would flatter; this one cannot. <c>dotnet run -c Release --project benchmark/Tempo.Benchmarks -- stepping [policy ...]</c>.
/// </summary>
internal static class SteppingLatency
{
    private static readonly double NsPerTick = 1e9 / Stopwatch.Frequency;

    /// <summary>Prints one row per (policy, live count).</summary>
    public static void Run(TextWriter output, IReadOnlyCollection<string> policies)
    {
        var names = policies.Count > 0 ? policies : ["tempo", "edf", "sarathi"];
        output.WriteLine("| policy | live requests | steps timed | p50 µs | p99 µs | max µs | steps with free slots |");
        output.WriteLine("|---|---|---|---|---|---|---|");
        foreach (var live in new[] { 100, 1_000, 2_000 })
        {
            foreach (var policy in names)
            {
                Measure(output, policy, live);
            }
        }
    }

    private static void Measure(TextWriter output, string policy, int live)
    {
        const int warmSteps = 1_000;
        const int timedSteps = 3_000;
        var profile = CostProfile.Default;
        var info = PolicyRegistry.Get(policy);
        var config = profile.ToEngineConfig(32, info.DefaultTokenBudget);
        var workload = WorkloadCatalog.Create("mixed", new WorkloadOptions { Requests = live + 20_000, Seed = 7, Rate = 6 }).Requests
            .Where(r => r.Class != RequestClass.Collective).ToList();
        var timed = new TimedScheduler(info.Create(new SchedulerOptions
        {
            Engine = config,
            Predictor = LengthPredictors.Create("fixed"),
            Seed = 7,
            TrueJobGraphs = JobGraphs.FromRequests(workload),
        }));
        var clock = new VirtualClock();
        var engine = new EngineCore(config, timed, new CostModel(profile).CreateExecutor(clock), clock);
        var next = 0;
        while (engine.LiveRequests < live && next < workload.Count)
        {
            engine.Submit(workload[next++] with { ArrivalS = clock.NowS });
        }

        for (var step = 0; step < warmSteps + timedSteps && next < workload.Count; step++)
        {
            timed.Timing = step >= warmSteps;
            engine.Step();
            while (engine.LiveRequests < live && next < workload.Count)
            {
                engine.Submit(workload[next++] with { ArrivalS = clock.NowS });
            }
        }

        var samples = timed.Samples.ToArray();
        Array.Sort(samples);
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"| {policy} | {live:N0} | {samples.Length} | {Percentile.OfSorted(samples, 0.5):0.0} | {Percentile.OfSorted(samples, 0.99):0.0} | {samples[^1]:0.0} | {timed.WithFreeSlots} |"));
    }

    /// <summary>Times every <see cref="IScheduler.Plan"/> call of the scheduler it wraps, and changes nothing else.</summary>
    private sealed class TimedScheduler(IScheduler inner) : IScheduler
    {
        public bool Timing { get; set; }

        public List<double> Samples { get; } = [];

        public int WithFreeSlots { get; private set; }

        public string Name => inner.Name;

        public StepPlan Plan(SchedulerView view)
        {
            var start = Stopwatch.GetTimestamp();
            var plan = inner.Plan(view);
            var us = (Stopwatch.GetTimestamp() - start) * NsPerTick / 1_000;
            if (Timing)
            {
                Samples.Add(us);
                WithFreeSlots += view.Running.Count < view.Config.MaxBatch ? 1 : 0;
            }

            return plan;
        }

        public void OnArrival(EngineRequest request) => inner.OnArrival(request);

        public void OnStepExecuted(SchedulerView view, double durationS) => inner.OnStepExecuted(view, durationS);

        public void OnFinished(EngineRequest request) => inner.OnFinished(request);
    }
}
