using Tempo.Engine;

namespace Tempo.Simulation.Profiles.Calibration;

/// <summary>One measured step shape: the sequences of one forward pass and its robust (median) duration.</summary>
/// <param name="Label">Short description for reports, e.g. <c>decode B=8 K=512</c>.</param>
/// <param name="Work">The forward pass's sequences.</param>
/// <param name="Ms">Median measured duration, ms.</param>
public sealed record StepSample(string Label, IReadOnlyList<WorkShape> Work, double Ms)
{
    /// <summary>Tokens in the pass (N of the cost model).</summary>
    public int Tokens => Work.Sum(w => w.Tokens);
}
