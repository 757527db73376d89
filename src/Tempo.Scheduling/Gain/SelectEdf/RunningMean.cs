namespace Tempo.Scheduling.Gain.SelectEdf;

/// <summary>A mean kept as a sum and a count (the first sample is the mean; none gives 0).</summary>
internal struct RunningMean
{
    private double _sum;
    private long _count;

    /// <summary>The mean of the samples added so far (0 before the first).</summary>
    public readonly double Mean => _count > 0 ? _sum / _count : 0;

    /// <summary>Adds a sample.</summary>
    /// <param name="x">The sample.</param>
    public void Add(double x)
    {
        _sum += x;
        _count++;
    }
}
