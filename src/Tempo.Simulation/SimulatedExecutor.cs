using Tempo.Engine;
using Tempo.Simulation.Profiles;

namespace Tempo.Simulation;

/// <summary>
/// Runs a step by pricing it with the <see cref="CostModel"/> and moving the virtual clock forward by that
/// duration, so the tokens of the step are stamped at its end. No tokens are sampled: responses run to their
/// trace length. Create through <see cref="CostModel.CreateExecutor(VirtualClock, double)"/>.
/// </summary>
internal sealed class SimulatedExecutor(CostModel model, VirtualClock clock, double slowdown) : IExecutor
{
    /// <summary>Steps executed (for diagnostics).</summary>
    public long Steps { get; private set; }

    /// <inheritdoc />
    public StepResult Execute(StepBatch batch)
    {
        var durationS = slowdown == 1 ? model.StepTimeS(batch) : model.StepTimeS(batch) * slowdown;
        clock.Advance(durationS);
        Steps++;
        return new StepResult(durationS);
    }
}
