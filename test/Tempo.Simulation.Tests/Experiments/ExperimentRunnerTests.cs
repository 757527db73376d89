using System.Collections.Concurrent;

using Tempo.Scheduling;
using Tempo.Simulation.Experiments;
using Tempo.Simulation.Profiles;

namespace Tempo.Simulation.Tests.Experiments;

public class ExperimentRunnerTests
{
    [Fact]
    public void Run_TwoPoliciesTwoRates_ReturnsRunsInPlanOrderIdenticalToASerialRun()
    {
        var plan = Plan(["sarathi", "vllm"], [4, 8]);

        var parallel = ExperimentRunner.Run(plan with { MaxParallelism = 4 });
        var serial = ExperimentRunner.Run(plan with { MaxParallelism = 1 });

        Assert.Equal(["sarathi@4", "sarathi@8", "vllm@4", "vllm@8"], parallel.Runs.Select(r => $"{r.Policy}@{r.Rate}"));
        for (var i = 0; i < parallel.Runs.Count; i++)
        {
            var (p, s) = (parallel.Runs[i], serial.Runs[i]);
            Assert.Equal(s.Stats.Steps, p.Stats.Steps);
            Assert.Equal(s.SimulatedS, p.SimulatedS);
            Assert.Equal(s.Metrics.Total.ServiceGain, p.Metrics.Total.ServiceGain);
            Assert.Equal(s.Metrics.DurationS, p.Metrics.DurationS);
            Assert.Equal(s.Records!.Select(r => r.FinishS), p.Records!.Select(r => r.FinishS));
        }
    }

    [Fact]
    public void Run_CostBias_ScalesThePriorEveryPolicyIsToldAndNotTheEngine()
    {
        var priors = new ConcurrentBag<StepCostPrior?>();
        var plan = Plan(["sarathi"], [5]) with { ConfigureOptions = (_, o) => { priors.Add(o.StepCost); return o; } };

        var truth = ExperimentRunner.Run(plan);
        var biased = ExperimentRunner.Run(plan with { CostBias = 1.3 });

        var told = priors.Select(p => Assert.IsType<StepCostPrior>(p)).OrderBy(p => p.DecodeStepS).ToList();
        Assert.Equal(2, told.Count);
        Assert.Equal(told[0].DecodeStepS * 1.3, told[1].DecodeStepS, 12);
        Assert.Equal(told[0].PrefillStepS * 1.3, told[1].PrefillStepS, 12);

        // sarathi does not time its decisions, so its run, priced by the engine's true costs, is unchanged.
        Assert.Equal(truth.Runs[0].SimulatedS, biased.Runs[0].SimulatedS);
    }

    [Fact]
    public void Run_CostBias_ChangesAPolicyThatTrustsItsBelief()
    {
        var plan = Plan(["tempo"], [40]) with
        {
            Workload = rate => SyntheticWorkloads.Mixed(300, rate, seed: 5, maxPrompt: 800, maxOutput: 300),
            ConfigureOptions = (_, o) => o with { SelectEdf = Tempo.Scheduling.Gain.SelectEdf.SelectEdfOptions.Default with { OnlineStepTime = false } },
        };

        var truth = ExperimentRunner.Run(plan);
        var biased = ExperimentRunner.Run(plan with { CostBias = 3 });

        Assert.NotEqual(truth.Runs[0].Metrics.Total.ServiceGain, biased.Runs[0].Metrics.Total.ServiceGain);
    }

    [Fact]
    public void Run_DefaultTokenBudget_ComesFromEachPolicy()
    {
        var result = ExperimentRunner.Run(Plan(["sarathi", "vllm"], [5]));

        Assert.Equal(PolicyRegistry.ChunkedTokenBudget, result.Runs[0].Engine.TokenBudget);
        Assert.Equal(PolicyRegistry.UnchunkedTokenBudget, result.Runs[1].Engine.TokenBudget);
        Assert.All(result.Runs, r => Assert.Equal(28_180, r.Engine.GpuBlocks));
    }

    [Fact]
    public void Run_TokenBudgetOverrideAndOptionsHook_ApplyToEveryRun()
    {
        var seen = new ConcurrentBag<(string, int, int)>();
        var plan = Plan(["sarathi", "vllm"], [5, 6]) with
        {
            TokenBudget = 256,
            Seed = 42,
            ConfigureOptions = (info, options) =>
            {
                seen.Add((info.Name, options.Engine.TokenBudget, options.Seed));
                return options;
            },
        };

        var result = ExperimentRunner.Run(plan);

        Assert.All(result.Runs, r => Assert.Equal(256, r.Engine.TokenBudget));
        Assert.Equal(4, seen.Count);
        Assert.All(seen, s => Assert.Equal((256, 42), (s.Item2, s.Item3)));
    }

    [Fact]
    public void Run_WithProgress_ReportsEachRunOnceCountingUp()
    {
        var reports = new List<RunProgress>();
        var progress = new SynchronousProgress(reports.Add);

        var result = ExperimentRunner.Run(Plan(["sarathi"], [3, 4, 5]), progress);

        Assert.Equal([1, 2, 3], reports.Select(r => r.Completed));
        Assert.All(reports, r => Assert.Equal(3, r.Total));
        Assert.Equal(result.Runs.Select(r => r.Rate).Order(), reports.Select(r => r.Run.Rate).Order());
    }

    [Fact]
    public void Run_UnknownPolicy_ThrowsBeforeRunningAnything()
    {
        var built = 0;
        var plan = Plan(["sarathi", "nope"], [5]) with { Workload = rate => { built++; return SyntheticWorkloads.Mixed(5, rate, 1); } };

        var e = Assert.Throws<ArgumentException>(() => ExperimentRunner.Run(plan));

        Assert.Contains("nope", e.Message);
        Assert.Equal(0, built);
    }

    private static ExperimentPlan Plan(string[] policies, double[] rates) => new()
    {
        Policies = policies,
        Rates = rates,
        Workload = rate => SyntheticWorkloads.Mixed(15, rate, seed: 5, maxPrompt: 800, maxOutput: 100),
        Profile = CostProfile.Default,
        MaxBatch = 16,
        KeepRecords = true,
    };

    /// <summary>Reports inline on the calling thread (Progress&lt;T&gt; would post to the thread pool).</summary>
    private sealed class SynchronousProgress(Action<RunProgress> report) : IProgress<RunProgress>
    {
        public void Report(RunProgress value) => report(value);
    }
}
