"""Delayed feedback: losses, importance weights and training streams for conversion prediction.

A click's conversion arrives days after the click, so a learner that trains at time ``t`` sees
*fake negatives*: clicks that will convert but have not yet (:mod:`hermes_core.world.conversions`).
The method core of the delayed-feedback stage, one idea per module:

* ``dfm``: Chapelle's (2014) Delayed Feedback Model, the joint likelihood of conversion and
  exponential delay;
* ``weighted_bce``: the importance-weighted binary cross-entropy that every weighting method uses;
* ``ingestion``: the rows a streaming pipeline ingests (index, time, label, kind), shared by
  ``fnw``, ``esdfm`` and ``defer``;
* ``fnw``: Fake Negative Weighted and Fake Negative Calibration (Ktena et al. 2019);
* ``fsiw``: Feedback Shift Importance Weighting (Yasui et al. 2020);
* ``esdfm``: Elapsed-time Sampling DFM (Yang et al. 2021), its weights and auxiliary labels;
* ``defer``: DElayed FEedback modeling with Real negatives (Gu et al. 2021);
* ``elapsed_weight``: the posterior probability that a click unconverted after an elapsed time is
  a real negative, under DFM's exponential delay;
* ``streaming``: the streaming protocol of ES-DFM (train on window t, test on t+1), its
  window-weighted metrics and the relative improvement between vanilla and oracle.

The stage built on them: ``features`` and ``model`` (the conversion model every method trains),
``training_rows`` and ``training`` (what each method trains on, with which loss), ``auxiliary``
(the frozen classifiers of FSIW, ES-DFM and DEFER), ``protocol`` (the streaming run), ``delays``
(unseen shares and redrawn delay distributions), ``assumptions`` (each method's assumption checked
on the data), ``summary`` (seed tables and RI), and the stage's faces ``params``, ``stage``,
``metrics``, ``plots`` and ``conclusions``.

Conventions: times are in days, as in the world; ``conversion_time`` arrays hold the time of the
*counted* conversion (within the attribution window) and ``NaN`` where there is none
(:func:`~hermes_core.delayed_feedback.ingestion.counted_conversion_time` builds one from a
:class:`~hermes_core.world.conversions.ConversionStream`). Losses take logits and return a scalar
mean; their importance weights are computed without gradient (the papers' stop-gradient).
"""
