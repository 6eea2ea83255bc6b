"""District metrics of success: evidence coverage and levels per competency by school and grade band."""
