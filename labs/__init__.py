"""Labs, members, certifications and bookable resources."""
