using Tempo.Core;

namespace Tempo.Fleet;

/// <summary>
/// The <c>tempo</c> router: each request goes to the replica where it is predicted to meet its SLO with the most
/// margin. A latency request's margin is its TTFT objective minus the replica's predicted time to first token; a
/// throughput or collective call's is its deadline minus the predicted first token and the decode of its
/// <c>max_tokens</c> at the replica's step time. The calls of one collective job stay on the replica of its earlier
/// calls while that replica still meets them, so a real engine can reuse the job's shared prefix; otherwise they move.
/// </summary>
public sealed class SloAwareRouter : IRouter
{
    // Jobs whose placement is remembered at once; the oldest is forgotten first.
    private const int MaxTrackedJobs = 10_000;

    private readonly Dictionary<long, int> _jobReplica = [];
    private readonly Queue<long> _jobOrder = new();

    /// <inheritdoc />
    public string Name => "tempo";

    /// <inheritdoc />
    public int Pick(RequestSpec request, double nowS, IReadOnlyList<ReplicaLoad> replicas)
    {
        var best = 0;
        var bestMargin = double.NegativeInfinity;
        for (var i = 0; i < replicas.Count; i++)
        {
            var margin = Margin(request, nowS, replicas[i]);
            if (margin > bestMargin)
            {
                best = i;
                bestMargin = margin;
            }
        }

        if (request.Class != RequestClass.Collective || request.JobId is not { } job)
        {
            return best;
        }

        if (_jobReplica.TryGetValue(job, out var home) && home < replicas.Count && Margin(request, nowS, replicas[home]) >= 0)
        {
            return home;
        }

        Remember(job, best);
        return best;
    }

    /// <summary>Seconds to spare if <paramref name="request"/> starts on <paramref name="replica"/> now (negative: predicted late).</summary>
    public static double Margin(RequestSpec request, double nowS, ReplicaLoad replica)
    {
        var ttft = replica.PredictedTtftS(request.PromptTokens);
        if (request.Class == RequestClass.Latency)
        {
            return request.Slo.TtftS - ttft;
        }

        // A collective call's arrival is its job's, so its deadline is the job's; a throughput request's is its own.
        var finish = nowS + ttft + (Math.Max(0, request.OutputTokens - 1) * replica.StepS);
        return request.ArrivalS + request.Slo.DeadlineS - finish;
    }

    private void Remember(long job, int replica)
    {
        if (!_jobReplica.ContainsKey(job))
        {
            _jobOrder.Enqueue(job);
            if (_jobOrder.Count > MaxTrackedJobs)
            {
                _jobReplica.Remove(_jobOrder.Dequeue());
            }
        }

        _jobReplica[job] = replica;
    }
}
