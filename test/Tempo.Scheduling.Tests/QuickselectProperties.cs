using CsCheck;

using Tempo.Scheduling.Ordering;

namespace Tempo.Scheduling.Tests;

public sealed class QuickselectProperties
{
    [Fact]
    public void SmallestFirst_FrontHoldsExactlyTheKSmallest_ForAnyOrderAndK()
    {
        // Distinct values (the callers' keys are unique); sorted, reversed and arbitrary orders alike.
        var cases = Gen.Int[0, 1_000].HashSet[0, 300].Select(Gen.Int[0, 1_000], Gen.Int[0, 2])
            .Select((values, k, shape) => (Values: Shape([.. values], shape), K: k % (values.Count + 2)));

        cases.Sample(c =>
        {
            var items = c.Values.ToArray();
            Quickselect.SmallestFirst(items.AsSpan(), c.K);

            var expected = c.Values.Order().Take(c.K).ToArray();
            Assert.Equal(expected, items.Take(Math.Min(c.K, items.Length)).Order().ToArray());
            Assert.Equal(c.Values.Order(), items.Order()); // a permutation: nothing lost or duplicated
        });
    }

    private static List<int> Shape(List<int> values, int shape) => shape switch
    {
        0 => [.. values.Order()],
        1 => [.. values.OrderDescending()],
        _ => values,
    };
}
