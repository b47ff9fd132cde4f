using System.ComponentModel.DataAnnotations;

namespace Streaming.Alerts;

public enum AlertSeverity { Info, Warning, Critical }

/// <summary>What a rule measures over the customer's voted labels.</summary>
public enum AlertRuleKind
{
    /// <summary><see cref="AlertRule.Label"/> for at least <see cref="AlertRule.Seconds"/> within the last <see cref="AlertRule.WithinSeconds"/>
    /// ("angry for 20 s within the last 60 s"; with Seconds = WithinSeconds it is "sad for N s" without a break).</summary>
    LabelWithin,

    /// <summary>The label's share of speech over the last <see cref="AlertRule.WithinSeconds"/> exceeds its share over the call before them by
    /// at least <see cref="AlertRule.Rise"/> ("the customer is getting angrier").</summary>
    ShareRising,
}

/// <summary>
/// One alert rule of a tenant (configuration <c>Tenants:&lt;id&gt;:Alerts:Rules:&lt;n&gt;</c>). Rules watch the customer's stream only:
/// inferring employees' emotions is what the EU AI Act prohibits, so an agent is never the subject of an alert.
/// </summary>
public sealed class AlertRule : IValidatableObject
{
    /// <summary>Names the rule in alerts and webhooks; unique per tenant.</summary>
    [Required(AllowEmptyStrings = false)]
    public string Name { get; set; } = "";

    public AlertRuleKind Kind { get; set; } = AlertRuleKind.LabelWithin;

    [Required(AllowEmptyStrings = false)]
    public string Label { get; set; } = "angry";

    /// <summary>LabelWithin: seconds of the label needed within the look-back.</summary>
    [Range(0.0, 86400.0)]
    public double Seconds { get; set; }

    /// <summary>The look-back, in seconds of call time.</summary>
    [Range(0.001, 86400.0)]
    public double WithinSeconds { get; set; } = 60;

    /// <summary>ShareRising: how much larger (0-1) the recent share must be than the earlier one.</summary>
    [Range(0.0, 1.0)]
    public double Rise { get; set; } = 0.3;

    /// <summary>ShareRising: seconds of speech before the look-back needed to compare with (an opening angry sentence is not a rise).</summary>
    [Range(0.0, 86400.0)]
    public double MinEarlierSpeechSeconds { get; set; } = 30;

    public AlertSeverity Severity { get; set; } = AlertSeverity.Warning;

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (Kind == AlertRuleKind.LabelWithin && (Seconds <= 0 || Seconds > WithinSeconds))
            yield return new ValidationResult($"alert rule '{Name}': Seconds ({Seconds}) must be > 0 and at most WithinSeconds ({WithinSeconds})", [nameof(Seconds)]);
        if (Kind == AlertRuleKind.ShareRising && Rise <= 0)
            yield return new ValidationResult($"alert rule '{Name}': Rise must be > 0", [nameof(Rise)]);
    }
}
