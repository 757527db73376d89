using Tempo.Core;

namespace Tempo.Workloads;

/// <summary>
/// A top-level arrival of a workload: one request, or a whole collective job whose stage 0 arrives now.
/// </summary>
/// <param name="TimeS">Arrival time, seconds (the request's, or the job's first call's).</param>
/// <param name="Index">Workload index of the request, or of the job's first call.</param>
/// <param name="Stages">For a job, the workload indices of each stage's calls in workload order; otherwise null.</param>
public sealed record TopLevelArrival(double TimeS, int Index, IReadOnlyList<IReadOnlyList<int>>? Stages);

/// <summary>
/// Groups a workload into top-level arrivals, the one rule the simulator and the load generator both replay by:
/// collective calls with a job id form one job (stage k+1 is released when every call of stage k has ended), every
/// other request arrives on its own. Arrivals are ordered by time; ties keep workload order.
/// </summary>
public static class ArrivalPlan
{
    /// <summary>The top-level arrivals of <paramref name="requests"/>, in the order they arrive.</summary>
    public static IReadOnlyList<TopLevelArrival> Of(IReadOnlyList<RequestSpec> requests)
    {
        ArgumentNullException.ThrowIfNull(requests);
        var arrivals = new List<(double TimeS, int Index, List<List<int>>? Stages)>(requests.Count);
        var jobs = new Dictionary<long, List<List<int>>>();
        for (var i = 0; i < requests.Count; i++)
        {
            var spec = requests[i];
            if (JobOf(spec) is not { } jobId)
            {
                arrivals.Add((spec.ArrivalS, i, null));
                continue;
            }

            if (!jobs.TryGetValue(jobId, out var stages))
            {
                stages = new(Math.Max(1, spec.StageCount));
                jobs.Add(jobId, stages);
                arrivals.Add((spec.ArrivalS, i, stages));
            }

            while (stages.Count <= spec.Stage)
            {
                stages.Add([]);
            }

            stages[spec.Stage].Add(i);
        }

        return [.. arrivals.OrderBy(a => a.TimeS).ThenBy(a => a.Index).Select(a => new TopLevelArrival(a.TimeS, a.Index, a.Stages))];
    }

    /// <summary>The job a request belongs to, or null when it arrives on its own.</summary>
    public static long? JobOf(RequestSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        return spec.Class == RequestClass.Collective ? spec.JobId : null;
    }
}
