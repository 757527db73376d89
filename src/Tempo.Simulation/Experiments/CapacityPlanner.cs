namespace Tempo.Simulation.Experiments;

/// <summary>The fewest replicas one (policy, router) pair needs to reach a target attainment, and what it does there.</summary>
/// <param name="Policy">Engine scheduling policy of every replica.</param>
/// <param name="Router">Router placing requests on the replicas.</param>
/// <param name="Replicas">Fewest replicas that reached the target; null when even the most allowed did not.</param>
/// <param name="Attainment">Attainment at <see cref="Replicas"/> (or at the most allowed, when not reached).</param>
/// <param name="ServiceGoodput">Service goodput at the same point (gain per second).</param>
/// <param name="Tried">Every replica count simulated, with its attainment, in the order tried.</param>
public sealed record CapacityAnswer(string Policy, string Router, int? Replicas, double Attainment, double ServiceGoodput, IReadOnlyList<(int Replicas, double Attainment)> Tried);

/// <summary>
/// Finds by simulation the fewest replicas that reach a target SLO attainment: doubles the fleet until the target is
/// met, then bisects between the last count that missed and the first that met. Attainment grows with replicas
/// almost always; where it does not (a router's placement changes with the count), the answer is the smallest count
/// the bisection found meeting the target, and <see cref="CapacityAnswer.Tried"/> shows every point.
/// </summary>
public static class CapacityPlanner
{
    /// <summary>
    /// Answers for <paramref name="policy"/> behind <paramref name="router"/> on <paramref name="plan"/>'s workload at its
    /// one rate (the fleet's arrival rate), trying at most <paramref name="maxReplicas"/> replicas.
    /// </summary>
    public static CapacityAnswer FewestReplicas(ExperimentPlan plan, string policy, string router, double targetAttainment, int maxReplicas, Action<string, string, int, double>? progress = null)
    {
        ArgumentNullException.ThrowIfNull(plan);
        if (plan.Rates.Count != 1)
        {
            throw new ArgumentException("a capacity plan is for one arrival rate");
        }

        if (!(targetAttainment is > 0 and <= 1) || maxReplicas < 1)
        {
            throw new ArgumentException("the target attainment must be in (0, 1] and the replica limit at least 1");
        }

        var tried = new List<(int, double)>();
        var results = new Dictionary<int, RunResult>();
        RunResult At(int n)
        {
            if (!results.TryGetValue(n, out var run))
            {
                run = ExperimentRunner.Run(plan with { Policies = [policy], Router = router, Replicas = n, MaxParallelism = 1 }).Runs[0];
                results[n] = run;
                tried.Add((n, run.Metrics.Attainment));
                progress?.Invoke(policy, router, n, run.Metrics.Attainment);
            }

            return run;
        }

        bool Meets(int n) => At(n).Metrics.Attainment >= targetAttainment;

        var missed = 0;
        var met = 1;
        while (!Meets(met))
        {
            if (met >= maxReplicas)
            {
                var last = At(met);
                return new CapacityAnswer(policy, router, null, last.Metrics.Attainment, last.Metrics.ServiceGoodput, tried);
            }

            missed = met;
            met = Math.Min(maxReplicas, met * 2);
        }

        while (met - missed > 1)
        {
            var mid = missed + ((met - missed) / 2);
            if (Meets(mid))
            {
                met = mid;
            }
            else
            {
                missed = mid;
            }
        }

        var best = At(met);
        return new CapacityAnswer(policy, router, met, best.Metrics.Attainment, best.Metrics.ServiceGoodput, tried);
    }
}
