"""The cell formulas, for Excel on Windows (xlwings user-defined functions).

Import them once into a workbook with the xlwings add-in (ribbon xlwings → Import Functions,
`UDF Modules` = `relance.formulas`). Each formula calls the same rules as the command line
(cell_functions → stages). Pass AUJOURDHUI() as the reference date so the stage moves with
the calendar: `=RELANCE_ETAPE(…; AUJOURDHUI())` is recomputed every day.
"""
import xlwings as xw

from . import cell_functions as cf


@xw.func
def RELANCE_ETAPE(echeance, date_1ere_relance, reponse, reste_du, date_2e_relance=None,
                  litige=None, date_mise_en_demeure=None, date_reference=None,
                  delai_2e_relance=None, delai_mise_en_demeure=None, procedure_collective=None):
    """Étape de relance d'une facture (Non échue, 2e relance à envoyer, Payée…)."""
    return cf.stage_label(echeance, date_1ere_relance, reponse, reste_du, date_2e_relance, litige,
                          date_mise_en_demeure, date_reference, delai_2e_relance,
                          delai_mise_en_demeure, procedure_collective)


@xw.func
def RELANCE_JOURS_RETARD(echeance, date_reference=None):
    """Jours de retard d'une facture à la date de référence (0 si elle n'est pas échue)."""
    return cf.days_late_value(echeance, date_reference)


@xw.func
def RELANCE_PENALITES(reste_du, echeance, taux, date_reference=None):
    """Pénalités de retard : reste dû × taux annuel × jours de retard ÷ 365, au centime."""
    return cf.penalty_value(reste_du, echeance, taux, date_reference)


@xw.func
@xw.arg("tableau", ndim=2)
def RELANCE_ETAPES(tableau, date_reference=None, delai_2e_relance=None,
                   delai_mise_en_demeure=None):
    """Étape de chaque ligne du tableau des créances (avec sa ligne d'en-têtes), en un seul
    calcul : à préférer à des milliers de RELANCE_ETAPE sur un grand tableau."""
    return cf.stages_column(tableau, date_reference, delai_2e_relance, delai_mise_en_demeure)
