using Tempo.Core;

namespace Tempo.Workloads;

/// <summary>
/// A finite list of requests to replay. Latency and throughput requests arrive at their
/// <see cref="RequestSpec.ArrivalS"/>. Collective calls carry their job's arrival time, job id and stage: the
/// driver releases stage 0 of a job at the job's arrival and stage k+1 when every call of stage k has ended.
/// </summary>
/// <param name="Name">Name shown in reports.</param>
/// <param name="Requests">All requests, collective calls included, ordered by arrival then id.</param>
public sealed record Workload(string Name, IReadOnlyList<RequestSpec> Requests)
{
    /// <summary>Number of top-level arrivals (a collective job counts once), the unit of "rate".</summary>
    public int Arrivals => Requests.Count(r => r.Class != RequestClass.Collective) + Requests.Where(r => r.JobId is not null).Select(r => r.JobId).Distinct().Count();

    /// <summary>Checks every request and the job structure; throws <see cref="ArgumentException"/> naming the first problem.</summary>
    public void Validate()
    {
        var ids = new HashSet<long>();
        foreach (var r in Requests)
        {
            r.Validate();
            if (!ids.Add(r.Id))
            {
                throw new ArgumentException($"workload '{Name}': duplicate request id {r.Id}");
            }
        }

        foreach (var job in Requests.Where(r => r.JobId is not null).GroupBy(r => r.JobId))
        {
            var stages = job.Select(r => r.Stage).Distinct().Order().ToList();
            if (stages[0] != 0 || stages[^1] != stages.Count - 1)
            {
                throw new ArgumentException($"workload '{Name}': job {job.Key} has stages {string.Join(",", stages)}; they must be 0..n-1 without gaps");
            }

            if (job.Select(r => r.ArrivalS).Distinct().Count() != 1)
            {
                throw new ArgumentException($"workload '{Name}': calls of job {job.Key} disagree on the job's arrival time");
            }
        }
    }
}
