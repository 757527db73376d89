using Tempo.Core;

namespace Tempo.Fleet;

/// <summary>Each request to the next replica in turn, whatever the load: the baseline every gateway starts from.</summary>
public sealed class RoundRobinRouter : IRouter
{
    private int _next;

    /// <inheritdoc />
    public string Name => "round-robin";

    /// <inheritdoc />
    public int Pick(RequestSpec request, double nowS, IReadOnlyList<ReplicaLoad> replicas)
    {
        var i = _next % replicas.Count;
        _next = (i + 1) % replicas.Count;
        return i;
    }
}
