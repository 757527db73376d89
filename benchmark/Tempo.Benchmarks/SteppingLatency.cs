using System.Diagnostics;
using System.Globalization;

using Tempo.Core;
using Tempo.Engine;
using Tempo.Scheduling;
using Tempo.Scheduling.Gain.SelectEdf;
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
        output.WriteLine("| policy | live requests | steps | steps timed | p50 µs | p99 µs | max µs | mean µs | steps with free slots |");
        output.WriteLine("|---|---|---|---|---|---|---|---|---|");
        // One untimed pass first, so that the first row does not pay for the JIT's tiering of code the later ones share.
        foreach (var policy in names)
        {
            Measure(TextWriter.Null, policy, 100);
        }

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

        // `tempo@N`, `tempo~D`: tempo with other re-plan settings (PolicyVariant). When only some steps re-plan, those
        // and the normal steps are also reported apart.
        var (info, select) = PolicyVariant.Parse(policy);
        var config = profile.ToEngineConfig(32, info.DefaultTokenBudget);
        var workload = WorkloadCatalog.Create("mixed", new WorkloadOptions { Requests = live + 20_000, Seed = 7, Rate = 6 }).Requests
            .Where(r => r.Class != RequestClass.Collective).ToList();
        var timed = new TimedScheduler(info.Create(new SchedulerOptions
        {
            Engine = config,
            Predictor = LengthPredictors.Create("fixed"),
            Seed = 7,
            TrueJobGraphs = JobGraphs.FromRequests(workload),
            SelectEdf = select,
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
            if (step == warmSteps)
            {
                // Garbage from building the workload and warming up is collected now, not inside a timed step.
                GC.Collect();
                GC.WaitForPendingFinalizers();
            }

            timed.Timing = step >= warmSteps;
            engine.Step();
            while (engine.LiveRequests < live && next < workload.Count)
            {
                engine.Submit(workload[next++] with { ArrivalS = clock.NowS });
            }
        }

        Row(output, policy, live, "all", timed.Samples, timed.WithFreeSlots);
        var replans = timed.Replans.Count(r => r);
        if (replans > 0 && replans < timed.Replans.Count)
        {
            Row(output, policy, live, "normal", timed.Samples.Where((_, i) => !timed.Replans[i]), timed.WithFreeSlots);
            Row(output, policy, live, "re-plan", timed.Samples.Where((_, i) => timed.Replans[i]), timed.WithFreeSlots);
        }
    }

    private static void Row(TextWriter output, string policy, int live, string steps, IEnumerable<double> timings, int withFreeSlots)
    {
        var samples = timings.ToArray();
        Array.Sort(samples);
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"| {policy} | {live:N0} | {steps} | {samples.Length} | {Percentile.OfSorted(samples, 0.5):0.0} | {Percentile.OfSorted(samples, 0.99):0.0} | {samples[^1]:0.0} | {samples.Average():0.0} | {withFreeSlots} |"));
    }

    /// <summary>Times every <see cref="IScheduler.Plan"/> call of the scheduler it wraps, and changes nothing else.</summary>
    private sealed class TimedScheduler(IScheduler inner) : IScheduler
    {
        public bool Timing { get; set; }

        public List<double> Samples { get; } = [];

        /// <summary>Per sample: whether the call ran a full re-plan (tempo with a re-plan interval; otherwise every call is alike).</summary>
        public List<bool> Replans { get; } = [];

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
                Replans.Add(inner is SelectEdfScheduler { LastPlanReplanned: true });
                WithFreeSlots += view.Running.Count < view.Config.MaxBatch ? 1 : 0;
            }

            return plan;
        }

        public void OnArrival(EngineRequest request) => inner.OnArrival(request);

        public void OnStepExecuted(SchedulerView view, double durationS) => inner.OnStepExecuted(view, durationS);

        public void OnFinished(EngineRequest request) => inner.OnFinished(request);
    }
}
