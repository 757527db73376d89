namespace Tempo.Core.Tests;

/// <summary>Hand-built requests and records with known token times.</summary>
internal static class Records
{
    public static RequestSpec Spec(
        long id,
        RequestClass cls,
        int prompt,
        int output,
        Slo slo,
        double arrival = 0,
        long? job = null,
        int stage = 0) => Specs.Make(id, prompt, output, cls, arrival, slo, job: job, stage: stage);

    /// <summary>A completed record whose finish is its last token.</summary>
    public static RequestRecord Done(RequestSpec spec, double arrival, params double[] tokens) =>
        new(spec, arrival, tokens, tokens[^1], FinishReason.Length);

    /// <summary>A latency request (T_f 1 s, T_b 0.1 s) arriving at <paramref name="arrival"/>, completed with the given token times.</summary>
    public static RequestRecord Latency(long id, int prompt, double arrival, params double[] tokens) =>
        Done(Spec(id, RequestClass.Latency, prompt, tokens.Length, new Slo(1, 0.1, 0), arrival), arrival, tokens);
}
