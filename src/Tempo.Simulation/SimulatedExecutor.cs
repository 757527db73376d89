using Tempo.Engine;
using Tempo.Simulation.Profiles;

namespace Tempo.Simulation;

/// <summary>
/// Runs a step by pricing it with the <see cref="CostModel"/> and moving the virtual clock forward by that
/// duration, so the tokens of the step are stamped at its end. No tokens are sampled: responses run to their
/// trace length. With <paramref name="noise"/>, each step takes the modelled time times a lognormal factor of mean 1
/// (a real machine's step-to-step spread). Create through <see cref="CostModel.CreateExecutor(VirtualClock, double, StepNoise?)"/>.
/// </summary>
internal sealed class SimulatedExecutor(CostModel model, VirtualClock clock, double slowdown, StepNoise? noise) : IExecutor
{
    /// <summary>Steps executed (for diagnostics).</summary>
    public long Steps { get; private set; }

    /// <inheritdoc />
    public StepResult Execute(StepBatch batch)
    {
        var durationS = slowdown == 1 ? model.StepTimeS(batch) : model.StepTimeS(batch) * slowdown;
        if (noise is not null && batch.Entries.Count > 0)
        {
            durationS *= noise.NextFactor();
        }

        clock.Advance(durationS);
        Steps++;
        return new StepResult(durationS);
    }
}

/// <summary>Seeded lognormal factors of mean 1 and a given coefficient of variation, one per step.</summary>
public sealed class StepNoise
{
    private readonly Random _random;
    private readonly double _sigma;

    /// <summary>Factors with coefficient of variation <paramref name="cv"/> (positive), drawn from <paramref name="seed"/>.</summary>
    public StepNoise(double cv, int seed)
    {
        if (!(cv > 0) || double.IsInfinity(cv))
        {
            throw new ArgumentOutOfRangeException(nameof(cv), cv, "the coefficient of variation must be a positive number");
        }

        _random = new Random(seed);
        _sigma = Math.Sqrt(Math.Log(1 + (cv * cv)));
    }

    /// <summary>The next factor: exp(σZ − σ²/2) for a standard normal Z, so its mean is 1.</summary>
    public double NextFactor()
    {
        // Box-Muller; 1 - u keeps the logarithm finite.
        var u = 1 - _random.NextDouble();
        var v = _random.NextDouble();
        var z = Math.Sqrt(-2 * Math.Log(u)) * Math.Cos(2 * Math.PI * v);
        return Math.Exp((_sigma * z) - (_sigma * _sigma / 2));
    }
}
