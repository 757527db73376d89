using Tempo.Core;

namespace Tempo.Fleet;

/// <summary>
/// The replica with the best load score, as llm-d's default scorers rate endpoints: a queue score (fewest waiting
/// requests, relative to the longest queue in the fleet) plus a KV-cache score (least cache in use), equally weighted.
/// Ties go to the replica with the fewest live requests, then round-robin, so an idle fleet is filled evenly.
/// </summary>
public sealed class LeastLoadedRouter : IRouter
{
    private int _next;

    /// <inheritdoc />
    public string Name => "least-loaded";

    /// <inheritdoc />
    public int Pick(RequestSpec request, double nowS, IReadOnlyList<ReplicaLoad> replicas)
    {
        var longest = 0;
        foreach (var r in replicas)
        {
            longest = Math.Max(longest, r.Waiting);
        }

        var best = -1;
        var bestScore = double.NegativeInfinity;
        for (var k = 0; k < replicas.Count; k++)
        {
            var i = (_next + k) % replicas.Count;
            var r = replicas[i];
            var score = (longest == 0 ? 1 : 1 - ((double)r.Waiting / longest)) + (1 - r.KvUsage);
            if (score > bestScore + 1e-12 || (Math.Abs(score - bestScore) <= 1e-12 && r.Live < replicas[best].Live))
            {
                best = i;
                bestScore = score;
            }
        }

        _next = (best + 1) % replicas.Count;
        return best;
    }
}
