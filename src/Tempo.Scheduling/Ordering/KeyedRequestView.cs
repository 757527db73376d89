using System.Collections;

using Tempo.Engine;

namespace Tempo.Scheduling.Ordering;

/// <summary>
/// The requests of a list of <see cref="KeyedRequest"/>s, in its order, read through without copying them out: a
/// scheduler that keeps its runners' keys from step to step hands out their order without writing a second list.
/// </summary>
internal sealed class KeyedRequestView : IReadOnlyList<EngineRequest>
{
    /// <summary>The keyed list read through; a scheduler that swaps buffers points this at the current one.</summary>
    public List<KeyedRequest> Source { get; set; } = [];

    /// <inheritdoc />
    public int Count => Source.Count;

    /// <inheritdoc />
    public EngineRequest this[int index] => Source[index].Request;

    /// <inheritdoc />
    public IEnumerator<EngineRequest> GetEnumerator()
    {
        for (var i = 0; i < Source.Count; i++)
        {
            yield return Source[i].Request;
        }
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}
