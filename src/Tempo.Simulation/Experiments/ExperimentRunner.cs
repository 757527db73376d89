using System.Diagnostics;

using Tempo.Scheduling;
using Tempo.Simulation.Profiles;
using Tempo.Workloads;

namespace Tempo.Simulation.Experiments;

/// <summary>Runs a sweep of (policy, rate) simulations, in parallel, with results in a fixed order.</summary>
public static class ExperimentRunner
{
    /// <summary>
    /// Runs every policy of <paramref name="plan"/> at every rate. Runs are independent and deterministic, so the
    /// result is identical whatever <see cref="ExperimentPlan.MaxParallelism"/> is (wall times aside).
    /// </summary>
    /// <param name="plan">What to run.</param>
    /// <param name="progress">Told about each finished run, from worker threads.</param>
    /// <param name="cancellationToken">Stops starting new runs.</param>
    public static ExperimentResult Run(ExperimentPlan plan, IProgress<RunProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(plan);
        plan.Simulation.Validate();
        var wall = Stopwatch.StartNew();

        // Resolve everything that can fail before any run starts: unknown policies, bad rates, bad workloads.
        var policies = plan.Policies.Select(PolicyRegistry.Get).ToArray();
        if (policies.Length == 0 || plan.Rates.Count == 0)
        {
            throw new ArgumentException("an experiment needs at least one policy and one rate");
        }

        if (plan.Replicas < 1)
        {
            throw new ArgumentException($"replicas must be at least 1, got {plan.Replicas}");
        }

        Fleet.RouterRegistry.Create(plan.Router); // an unknown router fails here, before any run
        var workloads = new Workload[plan.Rates.Count];
        for (var i = 0; i < workloads.Length; i++)
        {
            var rate = plan.Rates[i];
            if (!double.IsFinite(rate) || rate <= 0)
            {
                throw new ArgumentException($"rate must be a positive number, got {rate}");
            }

            workloads[i] = plan.Workload(rate);
            workloads[i].Validate();
        }

        var cost = new CostModel(plan.Profile);
        var total = policies.Length * workloads.Length;
        var runs = new RunResult[total];
        var completed = 0;
        var gate = new object();
        var parallel = new ParallelOptions
        {
            MaxDegreeOfParallelism = plan.MaxParallelism ?? Environment.ProcessorCount,
            CancellationToken = cancellationToken,
        };
        Parallel.For(0, total, parallel, i =>
        {
            var policy = policies[i / workloads.Length];
            var rateIndex = i % workloads.Length;
            runs[i] = RunOne(plan, policy, plan.Rates[rateIndex], workloads[rateIndex], cost);
            if (progress is not null)
            {
                // Serialised so that Completed counts up in the order reports are delivered.
                lock (gate)
                {
                    progress.Report(new RunProgress(++completed, total, runs[i]));
                }
            }
        });

        wall.Stop();
        return new ExperimentResult(plan, runs, wall.Elapsed.TotalSeconds);
    }

    private static RunResult RunOne(ExperimentPlan plan, PolicyInfo policy, double rate, Workload workload, CostModel cost)
    {
        var engine = plan.Profile.ToEngineConfig(plan.MaxBatch, plan.TokenBudget ?? policy.DefaultTokenBudget);
        // The true job graphs are offered to every policy; only the oracle reference (tempo-oracle) reads them.
        var options = new SchedulerOptions
        {
            Engine = engine,
            Seed = plan.Seed,
            StepCost = cost.PriorFor(engine).Scaled(plan.CostBias),
            ShedUnattainable = plan.ShedUnattainable,
            TrueJobGraphs = JobGraphs.FromRequests(workload.Requests),
        };
        var schedulers = new Engine.IScheduler[plan.Replicas];
        for (var i = 0; i < schedulers.Length; i++)
        {
            // One call per replica: the options may carry stateful parts (a predictor), each replica gets its own.
            schedulers[i] = policy.Create(plan.ConfigureOptions is { } configure ? configure(policy, options) : options);
        }

        var sim = schedulers.Length == 1
            ? SimulationDriver.Run(workload, engine, schedulers[0], cost, plan.Simulation)
            : SimulationDriver.RunFleet(workload, engine, schedulers, Fleet.RouterRegistry.Create(plan.Router), cost, plan.Simulation);
        return new RunResult
        {
            Policy = policy.Name,
            Rate = rate,
            Workload = sim.Workload,
            Engine = engine,
            Metrics = sim.Metrics,
            Stats = sim.Stats,
            Outcome = sim.Outcome,
            SimulatedS = sim.SimulatedS,
            WallS = sim.WallS,
            Records = plan.KeepRecords ? sim.Records : null,
        };
    }
}
