using Tempo.Engine;
using Tempo.Scheduling;
using Tempo.Scheduling.Gain.JitServe;
using Tempo.Scheduling.Prediction;
using Tempo.Simulation.Profiles;
using Tempo.Workloads;

namespace Tempo.Benchmarks;

/// <summary>
/// An engine on the default profile holding <c>live</c> requests of the reference mix (all arrived at once),
/// stepped until the batch is full, so a scheduler decision sees a realistic running set and a long queue.
/// </summary>
internal sealed class LiveEngine
{
    private LiveEngine(EngineCore engine, IScheduler scheduler)
    {
        Engine = engine;
        Scheduler = scheduler;
    }

    public EngineCore Engine { get; }

    public IScheduler Scheduler { get; }

    public SchedulerView View => Engine.View;

    /// <summary>Builds the engine. <paramref name="tempo"/> overrides Tempo's parameters (e.g. the re-plan interval).</summary>
    public static LiveEngine Create(string policy, int live, TempoOptions? tempo = null, int warmSteps = 40)
    {
        var profile = CostProfile.Default;
        var info = PolicyRegistry.Get(policy);
        var config = profile.ToEngineConfig(32, info.DefaultTokenBudget);
        var workload = WorkloadCatalog.Create("mixed", new WorkloadOptions { Requests = live, Seed = 7, Rate = 6 });
        var scheduler = info.Create(new SchedulerOptions
        {
            Engine = config,
            Predictor = LengthPredictors.Create("fixed"),
            Seed = 7,
            Tempo = tempo,

            // As `tempo simulate` does: only tempo-oracle reads the true graphs, the others ignore them.
            TrueJobGraphs = JobGraphs.FromRequests(workload.Requests),
        });
        var clock = new VirtualClock();
        var engine = new EngineCore(config, scheduler, new CostModel(profile).CreateExecutor(clock), clock);

        // Every request of the workload is live at t = 0 (collective calls of later stages included), so the
        // queue length is exactly what the benchmark asks for.
        foreach (var spec in workload.Requests.Take(live))
        {
            engine.Submit(spec with { ArrivalS = 0 });
        }

        for (var i = 0; i < warmSteps && engine.HasWork; i++)
        {
            engine.Step();
        }

        return new LiveEngine(engine, scheduler);
    }

    /// <summary>One scheduling decision (the plan is discarded; the engine does not move).</summary>
    public StepPlan Decide() => Scheduler.Plan(View);
}
