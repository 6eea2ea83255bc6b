"""Frameworks: a district's portraits (graduate, learner, educator, leader, system, self) with attributes,
competencies, grade-band descriptors, look-fors, a rubric scale and a launch schedule; CASE 1.1 in and out."""
