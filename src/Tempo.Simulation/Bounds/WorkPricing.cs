using Tempo.Simulation.Profiles;

namespace Tempo.Simulation.Bounds;

/// <summary>
/// Lower bounds on the engine time a request's work takes, under one <see cref="StepCostPlane"/>, and on the shortest
/// time it can take even alone (one step per prefill chunk and per output token).
/// </summary>
internal sealed class WorkPricing
{
    private readonly CostModel _model;
    private readonly StepCostPlane _plane;
    private readonly int _tokenBudget;

    public WorkPricing(CostModel model, StepCostPlane plane, int tokenBudget)
    {
        _model = model;
        _plane = plane;
        _tokenBudget = tokenBudget;
        var cheapestMs = double.PositiveInfinity;
        for (var n = 1; n <= tokenBudget; n++)
        {
            cheapestMs = Math.Min(cheapestMs, model.LinearMs(n));
        }

        StepMinS = model.IdleStepS + (cheapestMs / 1000);
        OutputS = model.Profile.OutputMs / 1000;
    }

    /// <summary>The shortest step that does any work, seconds.</summary>
    public double StepMinS { get; }

    /// <summary>The per-output-token cost of a step (sampling), seconds.</summary>
    public double OutputS { get; }

    /// <summary>
    /// Prefill of <paramref name="prompt"/> tokens: their plane price plus the attention of the whole prompt as one
    /// chunk. Chunking only adds a per-chunk constant: the chunks' quadratic terms sum to the prompt's.
    /// </summary>
    public double PrefillS(int prompt) => prompt <= 0 ? 0 : (_plane.PrefillS * prompt) + (_model.PrefillAttentionMs(prompt, 0) / 1000);

    /// <summary>Output tokens <paramref name="first"/>..<paramref name="last"/> (0 is the prefill's), each attending to its own context.</summary>
    public double DecodeS(int prompt, int first, int last)
    {
        if (last < first)
        {
            return 0;
        }

        var count = last - first + 1;
        // Token i attends to the prompt, the i tokens before it, and itself.
        var context = ((long)count * (prompt + 1)) + (((long)first + last) * count / 2);
        var perTokenMs = _model.DecodeAttentionMs(1, context) - _model.DecodeAttentionMs(1, 0);
        return (count * (_plane.DecodeS + OutputS)) + (perTokenMs / 1000);
    }

    /// <summary>All of a call's work: prefill, its first token, and the rest decoded.</summary>
    public double CallS(int prompt, int output) => PrefillS(prompt) + OutputS + DecodeS(prompt, 1, output - 1);

    /// <summary>The shortest time a prompt takes: one step per chunk of the token budget.</summary>
    public double PrefillMinS(int prompt) => Math.Max(1, (prompt + _tokenBudget - 1) / _tokenBudget) * StepMinS;

    /// <summary>The shortest time a call takes alone.</summary>
    public double CallMinS(int prompt, int output) => PrefillMinS(prompt) + (Math.Max(0, output - 1) * StepMinS);
}
