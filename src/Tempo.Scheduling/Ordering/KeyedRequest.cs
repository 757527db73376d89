using Tempo.Engine;

namespace Tempo.Scheduling.Ordering;

/// <summary>
/// A request with its order key read once. Submission order breaks ties, so keys are unique and any sort gives one
/// exact order: a ranking computes each key once per request instead of twice per comparison, which is what keeps
/// keys that depend on the clock or on per-program counters cheap over long queues.
/// </summary>
/// <param name="Primary">The key's primary criterion.</param>
/// <param name="Secondary">The key's secondary criterion.</param>
/// <param name="Request">The request.</param>
internal readonly record struct KeyedRequest(double Primary, double Secondary, EngineRequest Request) : IComparable<KeyedRequest>
{
    /// <summary>Pairs <paramref name="request"/> with its <paramref name="key"/>.</summary>
    public static KeyedRequest Of(EngineRequest request, OrderKey key) => new(key.Primary, key.Secondary, request);

    /// <inheritdoc />
    public int CompareTo(KeyedRequest other)
    {
        var c = Primary.CompareTo(other.Primary);
        if (c == 0)
        {
            c = Secondary.CompareTo(other.Secondary);
        }

        return c != 0 ? c : Request.Sequence.CompareTo(other.Request.Sequence);
    }
}
