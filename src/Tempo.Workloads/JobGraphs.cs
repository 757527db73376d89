using Tempo.Core;

namespace Tempo.Workloads;

/// <summary>Builds the true call graphs of a workload's collective jobs, for the oracle policy (<c>tempo-oracle</c>).</summary>
public static class JobGraphs
{
    /// <summary>
    /// Groups collective calls by job and stage into recorded jobs (calls of a stage in id order), keyed by job id;
    /// pass the result as the schedulers' true job graphs (<c>SchedulerOptions.TrueJobGraphs</c>).
    /// </summary>
    public static IReadOnlyDictionary<long, RecordedJob> FromRequests(IEnumerable<RequestSpec> requests)
    {
        ArgumentNullException.ThrowIfNull(requests);
        var graphs = new Dictionary<long, RecordedJob>();
        foreach (var job in requests.Where(r => r.JobId is not null).GroupBy(r => r.JobId!.Value))
        {
            var stages = job.GroupBy(r => r.Stage)
                .OrderBy(g => g.Key)
                .Select(g => (IReadOnlyList<RecordedCall>)[.. g.OrderBy(r => r.Id).Select(r => new RecordedCall(r.PromptTokens, r.OutputTokens))])
                .ToList();
            graphs[job.Key] = new RecordedJob(unchecked((int)job.Key), stages);
        }

        return graphs;
    }
}
