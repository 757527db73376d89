namespace Tempo.Core;

/// <summary>
/// Per request class, what the requests that ended earned: service gain, and how many met, missed or were shed from
/// their SLO. The server and the gateway both publish these from the outcomes they score. Not thread-safe: each owner
/// adds and reads under its own lock.
/// </summary>
public sealed class ClassOutcomes
{
    private static readonly int Classes = Enum.GetValues<RequestClass>().Length;
    private readonly double[] _gain = new double[Classes];
    private readonly long[] _met = new long[Classes];
    private readonly long[] _missed = new long[Classes];
    private readonly long[] _shed = new long[Classes];

    /// <summary>Counts one ended request.</summary>
    public void Add(RequestOutcome outcome)
    {
        ArgumentNullException.ThrowIfNull(outcome);
        var c = (int)outcome.Record.Spec.Class;
        _gain[c] += outcome.ServiceGain;
        if (outcome.SloMet)
        {
            _met[c]++;
        }
        else
        {
            _missed[c]++;
        }

        if (SloShedding.IsShed(outcome.Record.Detail))
        {
            _shed[c]++;
        }
    }

    /// <summary>Service gain earned by the class's requests.</summary>
    public double Gain(RequestClass c) => _gain[(int)c];

    /// <summary>Requests of the class that met their SLO.</summary>
    public long Met(RequestClass c) => _met[(int)c];

    /// <summary>Requests of the class that missed their SLO (shed, aborted and broken ones included).</summary>
    public long Missed(RequestClass c) => _missed[(int)c];

    /// <summary>Requests of the class shed before their first token because their SLO could not be met.</summary>
    public long Shed(RequestClass c) => _shed[(int)c];
}
