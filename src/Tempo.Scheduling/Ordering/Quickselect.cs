namespace Tempo.Scheduling.Ordering;

/// <summary>
/// Moves the k smallest items of a span to its front (in no particular order), in expected linear time. Admission
/// needs only the head of a long waiting queue; keeping a sorted bounded list instead costs a shift per insertion,
/// which a queue in improving order (dead requests first, as arrival order often leaves it) pays for every request.
/// Hoare's FIND, with a median-of-three pivot so that sorted and reversed queues stay linear. Written here because
/// the BCL has sorting but no selection.
/// </summary>
internal static class Quickselect
{
    /// <summary>
    /// Reorders <paramref name="items"/> so that its first <paramref name="k"/> items are its k smallest. Items must
    /// be totally ordered with no two equal (the callers' keys end in a unique sequence number).
    /// </summary>
    public static void SmallestFirst<T>(Span<T> items, int k)
        where T : IComparable<T>
    {
        if (k <= 0 || k >= items.Length)
        {
            return;
        }

        var target = k - 1; // the k-th smallest ends at this index, smaller ones before it
        var lo = 0;
        var hi = items.Length - 1;
        while (lo < hi)
        {
            var pivot = MedianOfThree(items[lo], items[lo + ((hi - lo) >> 1)], items[hi]);
            var i = lo;
            var j = hi;
            while (i <= j)
            {
                while (items[i].CompareTo(pivot) < 0)
                {
                    i++;
                }

                while (pivot.CompareTo(items[j]) < 0)
                {
                    j--;
                }

                if (i <= j)
                {
                    (items[i], items[j]) = (items[j], items[i]);
                    i++;
                    j--;
                }
            }

            // Now items[lo..j] ≤ pivot ≤ items[i..hi]; the target lies in one part, or between them in place.
            if (j < target)
            {
                lo = i;
            }

            if (target < i)
            {
                hi = j;
            }
        }
    }

    private static T MedianOfThree<T>(T a, T b, T c)
        where T : IComparable<T>
    {
        if (a.CompareTo(b) > 0)
        {
            (a, b) = (b, a);
        }

        if (b.CompareTo(c) > 0)
        {
            b = c;
        }

        return a.CompareTo(b) > 0 ? a : b;
    }
}
