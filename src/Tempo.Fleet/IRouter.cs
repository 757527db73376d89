using Tempo.Core;

namespace Tempo.Fleet;

/// <summary>
/// Places each request on one replica of a fleet. The same routers serve the fleet simulator and the gateway, so a
/// placement measured in simulation is the placement a real fleet gets. A router is stateful (round-robin pointer,
/// job affinity) and used from one thread.
/// </summary>
public interface IRouter
{
    /// <summary>Registry name.</summary>
    string Name { get; }

    /// <summary>Index of the replica for <paramref name="request"/>, given every replica's current load (never empty).</summary>
    int Pick(RequestSpec request, double nowS, IReadOnlyList<ReplicaLoad> replicas);
}
